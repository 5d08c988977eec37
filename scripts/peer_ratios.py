"""Prints hetile's timings beside SEAL's and OpenFHE's (from ../shared/peers JSON results) with the
ratio hetile / fastest peer per op.  usage: python3 scripts/peer_ratios.py RESULTS_DIR"""
import json
import os
import sys

PEER_OP = {"encrypt": "encode_encrypt", "decrypt": "decrypt_decode", "rotate": "rotate1"}
OPS = ["keygen", "encrypt", "decrypt", "add", "mul_plain", "mul_relin", "rescale", "rotate",
       "rotate_hoisted_8"]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main(d):
    hetile = load(os.path.join(d, "hetile.json"))
    if hetile is None:
        sys.exit("no hetile.json in %s" % d)
    peers = {}
    for lib, label in [("tenseal", "SEAL"), ("openfhe", "OpenFHE")]:
        doc = load(os.path.join(d, lib + ".json"))
        if doc:
            peers[label] = doc.get("results", {})
    for name, ops in hetile["results"].items():
        p = hetile["params"][name]
        print("\n#### %s (threads=%s): hetile log_q %s log_p %s, %s digits\n"
              % (name, hetile.get("threads"), p["log_q"], p["log_p"], p["digits"]))
        labels = list(peers)
        print("| op | hetile ms | " + " | ".join("%s ms" % l for l in labels)
              + " | hetile / fastest peer |")
        print("|---|---:|" + "---:|" * len(labels) + "---:|")
        for op in OPS:
            if op not in ops:
                continue
            h = ops[op]["median_ms"]
            vals = []
            for l in labels:
                r = peers[l].get("%s/thr=1" % name, {}).get(PEER_OP.get(op, op))
                vals.append(r["median_ms"] if isinstance(r, dict) and "median_ms" in r else None)
            present = [v for v in vals if v]
            ratio = "%.2fx" % (h / min(present)) if present else "-"
            print("| %s | %.3f | %s | %s |" % (op, h, " | ".join(
                "%.3f" % v if v else "-" for v in vals), ratio))
        pb = hetile["precision_bits"][name]
        print("\nhetile precision bits: " + ", ".join("%s %.1f" % kv for kv in pb.items()))
        for l in labels:
            r = peers[l].get("%s/thr=1" % name, {})
            if "precision_maxerr" in r:
                print("%s max error x*y: %.2e" % (l, r["precision_maxerr"]))
        trials = hetile.get("mul_rescale_trials", {}).get(name)
        if trials:
            print("\nx*y error over %d encryptions each (median of the largest error; median RMS):"
                  % trials["trials"])
            print("| library | median max error | median RMS error | hetile / library (max, RMS) |")
            print("|---|---:|---:|---:|")
            print("| hetile | %.2e | %.2e | |" % (trials["max_abs_error_median"], trials["rms_error_median"]))
            for lib, label in [("seal", "SEAL"), ("openfhe", "OpenFHE")]:
                doc = load(os.path.join(d, lib + "_precision.json"))
                r = (doc or {}).get(name)
                if r:
                    print("| %s | %.2e | %.2e | %.2f, %.2f |" % (
                        label, r["max_abs_error_median"], r["rms_error_median"],
                        trials["max_abs_error_median"] / r["max_abs_error_median"],
                        trials["rms_error_median"] / r["rms_error_median"]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".peers/results")
