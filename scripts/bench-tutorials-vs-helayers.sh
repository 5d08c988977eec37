#!/usr/bin/env bash
# The tutorials side by side with IBM HElayers on the same ONNX models, data samples and
# machine, back to back (issue 11): runs `hetile tutorial fraud --full --json` (the issue's
# fraud targets are on the full test split, 56,961 transactions, fetched and cached by the
# tutorial's loader; HElayers runs its fraud batches on the committed sample) and
# `hetile tutorial mnist --json` (release), and
# scripts/helayers_tutorials.py (pyhelayers, SEAL backend, its own batch-size optimizer) for the
# fraud MLP at batch 1 and 8192 and CryptoNets at batch 1 and HElayers' best batch (512; its own
# throughput pick ran out of 24 GB here), then prints a table of ratios hetile / HElayers.
# Needs the peers' venv with pyhelayers: ../shared/peers/setup.sh .peers (PEERS_VENV overrides).
# Usage: scripts/bench-tutorials-vs-helayers.sh [OUT_DIR]   (default target/peers-run)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-target/peers-run}"
PEERS_VENV="${PEERS_VENV:-.peers/venv}"
mkdir -p "$OUT"
if [ ! -x "$PEERS_VENV/bin/python" ]; then
    ../shared/peers/setup.sh .peers
fi
cargo build --release --locked -q
/usr/bin/time -f %M -o "$OUT/hetile_fraud.rss_kib" ./target/release/hetile tutorial fraud --full --json > "$OUT/hetile_fraud.json"
"$PEERS_VENV/bin/python" scripts/helayers_tutorials.py fraud 1 8192 > "$OUT/hl_fraud.jsonl"
/usr/bin/time -f %M -o "$OUT/hetile_mnist.rss_kib" ./target/release/hetile tutorial mnist --json > "$OUT/hetile_mnist.json"
HL_REPS="${HL_REPS:-2}" "$PEERS_VENV/bin/python" scripts/helayers_tutorials.py mnist 1 512 > "$OUT/hl_mnist.jsonl"
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
hl = {}
for m in ("fraud", "mnist"):
    for line in open(os.path.join(out, f"hl_{m}.jsonl")):
        d = json.loads(line)
        if "error" in d:
            sys.exit(f"HElayers {m} batch {d['batch']} failed: {d['error'][-500:]}")
        hl[(m, d["batch"])] = d
rows = []
for m, big in (("fraud", 8192), ("mnist", 512)):
    h = json.load(open(os.path.join(out, f"hetile_{m}.json")))
    b1, bb = hl[(m, 1)], hl[(m, big)]
    # peak RSS of the whole tutorial process (both plans, plaintext reference, client and server)
    peak = int(open(os.path.join(out, f"hetile_{m}.rss_kib")).read().split()[-1]) * 1024
    rows.append((m, "batch-1 latency, end to end (s)", h["latency_end_to_end_seconds_batch1"], b1["end_to_end_s"]))
    rows.append((m, "batch-1 latency, server only (s)", h["latency_seconds_batch1"], b1["predict_s"]))
    rows.append((m, f"throughput end to end (/s; hetile batch {h['plan']['batch_size']}, HElayers {big})",
                 h["end_to_end_throughput_per_second"], bb["throughput_end_to_end_per_s"]))
    rows.append((m, "peak RSS (GiB; hetile: whole tutorial run, HElayers: the batch run)",
                 peak / 2**30, bb["peak_rss_bytes"] / 2**30))
print("| model | measure | hetile | HElayers | hetile / HElayers |")
print("|---|---|---|---|---|")
for m, what, a, b in rows:
    print(f"| {m} | {what} | {a:.4g} | {b:.4g} | {a / b:.3f} |")
PY
