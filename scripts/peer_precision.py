"""Errors of x*y in SEAL (TenSEAL's sealapi) or OpenFHE, measured as `hetile bench ckks` measures
its own: the same inputs (uniform in [-1, 1], numpy seed 1 as ../shared/peers uses) encrypted
TRIALS times with the public key, multiplied, relinearized, rescaled and decrypted; prints JSON
with the median (and worst) of the per-trial largest errors and the median RMS error.
One encryption's largest error is a noisy figure (it moves by ~10% between encryptions), so
precision is compared on these medians.
usage: python peer_precision.py seal|openfhe CONFIGS(comma-separated) [TRIALS] > out.json"""
import json
import os
import sys

sys.path.insert(0, os.environ.get("PEERS_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                            "..", "..", "shared", "peers")))
import numpy as np


def summary(errs):
    mx = sorted(e[0] for e in errs)
    rms = sorted(e[1] for e in errs)
    med = lambda v: float(np.median(v))
    return dict(trials=len(errs), max_abs_error_median=med(mx), max_abs_error_max=float(max(mx)),
                rms_error_median=med(rms))


def errors(got, want):
    d = np.asarray(got)[:len(want)] - want
    return float(np.abs(d).max()), float(np.sqrt(np.mean(d * d)))


def seal(cfg, trials):
    import tenseal.sealapi as s
    N = 1 << cfg["logN"]; slots = N // 2; scale = 2.0 ** cfg["scale_bits"]
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, slots); y = rng.uniform(-1, 1, slots)
    parms = s.EncryptionParameters(s.SCHEME_TYPE.CKKS)
    parms.set_poly_modulus_degree(N)
    parms.set_coeff_modulus(s.CoeffModulus.Create(N, cfg["bits"]))
    sc = s.SEALContext(parms, True, s.SEC_LEVEL_TYPE.TC128)
    kg = s.KeyGenerator(sc)
    pk = s.PublicKey(); kg.create_public_key(pk)
    rk = s.RelinKeys(); kg.create_relin_keys(rk)
    enc = s.CKKSEncoder(sc); encr = s.Encryptor(sc, pk); dec = s.Decryptor(sc, kg.secret_key())
    ev = s.Evaluator(sc)

    def ee(v):
        pt = s.Plaintext(); enc.encode(list(v), scale, pt)
        ct = s.Ciphertext(); encr.encrypt(pt, ct); return ct
    out = []
    for _ in range(trials):
        a, b = ee(x), ee(y)
        m = s.Ciphertext(); ev.multiply(a, b, m); ev.relinearize_inplace(m, rk); ev.rescale_to_next_inplace(m)
        pt = s.Plaintext(); dec.decrypt(m, pt)
        out.append(errors(enc.decode_double(pt), x * y))
    return summary(out)


def openfhe(cfg, trials):
    import openfhe as fh
    import openfhe_bench
    N = 1 << cfg["logN"]; slots = N // 2; depth = len(cfg["bits"]) - 2
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, slots); y = rng.uniform(-1, 1, slots)
    cc, _ = openfhe_bench.make_cc(fh, N, depth)
    kp = cc.KeyGen(); cc.EvalMultKeyGen(kp.secretKey)
    out = []
    for _ in range(trials):
        a = cc.Encrypt(kp.publicKey, cc.MakeCKKSPackedPlaintext(x.tolist()))
        b = cc.Encrypt(kp.publicKey, cc.MakeCKKSPackedPlaintext(y.tolist()))
        m = cc.EvalMult(a, b); cc.ModReduceInPlace(m)
        pt = cc.Decrypt(m, kp.secretKey); pt.SetLength(slots)
        out.append(errors(pt.GetRealPackedValue(), x * y))
    return summary(out)


def main():
    import common
    lib, configs = sys.argv[1], sys.argv[2].split(",")
    trials = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    run = {"seal": seal, "openfhe": openfhe}[lib]
    print(json.dumps({c: run(common.CONFIGS[c], trials) for c in configs}, indent=1))


if __name__ == "__main__":
    main()
