#!/usr/bin/env bash
# Checks the simulator against real runs on this machine (issue 8): calibrates the cost model
# (`hetile calibrate`), then for each model at batch 1 (objective latency) and at a large batch
# (objective throughput, batch chosen under a memory cap) lets the optimizer choose a plan,
# predicts it (`hetile simulate`) and runs it for real on the native backend right after
# (`hetile simulate --measure`), and prints predicted vs measured latency and peak memory.
# Usage: scripts/validate-simulator.sh [MAX_MEMORY (default 12G)] [REPEATS (default 3)]
# Run it on a quiet machine: every measurement is wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
MAXMEM="${1:-12G}"
REPEATS="${2:-3}"
OUT="${VALIDATE_OUT:-target/validate}"
mkdir -p "$OUT"
cargo build --release --locked --quiet
H=target/release/hetile
$H calibrate -o "$OUT/costs.yaml" >/dev/null
MODELS="${MODELS:-layers/tests/models/cryptonets.onnx layers/tests/models/tenseal_convnet.onnx tutorials/models/fraud_mlp.onnx}"
for model in $MODELS; do
    name=$(basename "$model" .onnx)
    $H optimize "$model" --objective latency --batch 1 --costs "$OUT/costs.yaml" \
        -o "$OUT/$name-b1.yaml" >/dev/null
    $H optimize "$model" --objective throughput --batch choose --max-memory "$MAXMEM" \
        --costs "$OUT/costs.yaml" -o "$OUT/$name-large.yaml" >/dev/null
    for kind in b1 large; do
        $H simulate "$OUT/$name-$kind.yaml" --costs "$OUT/costs.yaml" --measure \
            --repeats "$REPEATS" --json >"$OUT/$name-$kind.json"
    done
done
python3 - "$OUT" $MODELS <<'PY'
import json, os, sys
out = sys.argv[1]
print("| model | batch | plan | predicted s | measured s | error | predicted MiB | measured MiB | error | sim/real speed |")
print("|---|---|---|---|---|---|---|---|---|---|")
for model in sys.argv[2:]:
    name = os.path.basename(model)[:-5]
    for kind in ("b1", "large"):
        r = json.load(open(f"{out}/{name}-{kind}.json"))
        p, m = r["predicted"], r["measured"]
        plan = open(f"{out}/{name}-{kind}.yaml").read()
        pm = p["peak_memory_bytes"] / 2**20
        mm = m["peak_memory_bytes"] / 2**20
        lat_err = (p["latency_seconds"] / m["latency_seconds"] - 1) * 100
        mem_err = (pm / mm - 1) * 100 if mm > 0 else float("nan")
        speed = m["latency_seconds"] / max(r["simulation_seconds"], 1e-9)
        print(f"| {name} | {r['batch_size']} | {r['threads']} thr | {p['latency_seconds']:.3f} | "
              f"{m['latency_seconds']:.3f} | {lat_err:+.1f}% | {pm:.0f} | {mm:.0f} | {mem_err:+.1f}% | {speed:.0f}x |")
PY
