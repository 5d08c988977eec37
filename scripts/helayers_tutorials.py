#!/usr/bin/env python3
"""IBM HElayers on hetile's tutorial models, for the side-by-side comparison of issue 11.

Runs the same ONNX files (tutorials/models/fraud_mlp.onnx, cryptonets.onnx) on the same
committed samples (tutorials/data/*.csv) through pyhelayers (SEAL backend, its own optimizer
for the batch size, plaintext model weights as in hetile), and prints one JSON object per
(model, batch): encrypt / predict / decrypt medians, end-to-end throughput, peak RSS of the
process, and agreement with the plaintext model. Each (model, batch) runs in its own process
so that the peak memory is its own.

Adapted from ../shared/peers/pyhelayers_ml.py. Run with the peers' venv (it has pyhelayers):
    .peers/venv/bin/python scripts/helayers_tutorials.py fraud 1 8192
    .peers/venv/bin/python scripts/helayers_tutorials.py mnist 1 512
Environment: HL_REPS (default 3 timed repetitions), HL_INT_BITS (integer-part precision,
default 20 for fraud: raw transaction amounts and squared activations reach ~2^17; 12 for MNIST).
"""
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(model):
    """(x [n, ...] float64 as the model takes it, labels) from the committed sample."""
    import numpy as np
    if model == "fraud":
        meta = json.load(open(os.path.join(ROOT, "tutorials/models/fraud_mlp.json")))
        rows = list(csv.DictReader(open(os.path.join(ROOT, "tutorials/data/fraud_test_sample.csv"))))
        cols = ["Time"] + ["V%d" % i for i in range(1, 29)] + ["Amount"]
        x = np.array([[float(r[c]) for c in cols] for r in rows])
        x = np.clip(x, np.array(meta["clip_lo"]), np.array(meta["clip_hi"]))
        y = np.array([int(r["Class"]) for r in rows])
        return x, y, os.path.join(ROOT, "tutorials/models/fraud_mlp.onnx")
    rows = list(csv.reader(open(os.path.join(ROOT, "tutorials/data/mnist_test_sample.csv"))))[1:]
    y = np.array([int(r[0]) for r in rows])
    x = np.array([[float(v) for v in r[1:]] for r in rows]).reshape(-1, 1, 28, 28) / 255.0
    return x, y, os.path.join(ROOT, "tutorials/models/cryptonets.onnx")


def batch_of(x, b):
    """The first b samples, repeating the sample when it is smaller than b."""
    import numpy as np
    reps = -(-b // len(x))
    return np.concatenate([x] * reps)[:b]


def one(model, batch):
    import numpy as np
    import pyhelayers as h
    reps = int(os.environ.get("HL_REPS", 3))
    x, labels, path = load(model)
    xb = batch_of(x, batch)
    R = {"peer": "HElayers (pyhelayers, SEAL backend)", "model": model, "batch": batch}
    hp = h.PlainModelHyperParams()
    plain = h.PlainModel.create(hp, [path])
    ref = np.array(plain.predict([xb])[0]).reshape(batch, -1)
    req = h.HeRunRequirements()
    req.set_he_context_options([h.DefaultContext()])
    req.optimize_for_batch_size(batch)
    req.set_model_encrypted(False)
    req.set_integer_part_precision(int(os.environ.get("HL_INT_BITS", 20 if model == "fraud" else 12)))
    t = time.perf_counter()
    profile = h.HeModel.compile(plain, req)
    R["compile_s"] = time.perf_counter() - t
    R["he_config"] = str(profile.get_he_config_requirement()).replace("\n", " | ")
    R["optimal_batch_size"] = profile.get_optimal_batch_size()
    t = time.perf_counter()
    ctx = h.HeModel.create_context(profile)
    R["keygen_s"] = time.perf_counter() - t
    R["slots"] = ctx.slot_count()
    nn = h.NeuralNet(ctx)
    nn.encode(plain, profile)
    io = nn.create_model_io_encoder()
    enc, pred, dec = [], [], []
    out_vals = None
    for _ in range(reps):
        t = time.perf_counter()
        data = h.EncryptedData(ctx)
        io.encode_encrypt(data, [xb])
        enc.append(time.perf_counter() - t)
        t = time.perf_counter()
        out = h.EncryptedData(ctx)
        nn.predict(out, data)
        pred.append(time.perf_counter() - t)
        t = time.perf_counter()
        out_vals = np.array(io.decrypt_decode_output(out)).reshape(batch, -1)
        dec.append(time.perf_counter() - t)
    med = statistics.median
    R["encrypt_s"], R["predict_s"], R["decrypt_s"] = med(enc), med(pred), med(dec)
    R["end_to_end_s"] = R["encrypt_s"] + R["predict_s"] + R["decrypt_s"]
    R["throughput_end_to_end_per_s"] = batch / R["end_to_end_s"]
    R["throughput_predict_per_s"] = batch / R["predict_s"]
    R["max_abs_err_vs_plain"] = float(np.abs(out_vals - ref).max())
    R["max_abs_plain"] = float(np.abs(ref).max())
    if model == "mnist":
        R["argmax_agreement"] = float(np.mean(out_vals.argmax(1) == ref.argmax(1)))
        n = min(batch, len(labels))
        R["accuracy_on_sample"] = float(np.mean(out_vals[:n].argmax(1) == labels[:n]))
    else:
        R["decision_agreement_at_0"] = float(np.mean((out_vals > 0) == (ref > 0)))
    R["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return R


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]))), flush=True)
        sys.exit(0)
    if len(sys.argv) < 3 or sys.argv[1] not in ("fraud", "mnist"):
        sys.exit("usage: helayers_tutorials.py fraud|mnist BATCH [BATCH ...]")
    for b in sys.argv[2:]:
        r = subprocess.run([sys.executable, __file__, "--one", sys.argv[1], b],
                           capture_output=True, text=True)
        line = [l for l in r.stdout.splitlines() if l.startswith("{")]
        if r.returncode != 0 or not line:
            print(json.dumps({"model": sys.argv[1], "batch": int(b), "error": r.stderr[-2000:]}))
        else:
            print(line[-1], flush=True)
