#!/usr/bin/env bash
# Checks the simulator against real runs on this machine (issue 8): calibrates the cost model
# (`hetile calibrate`), then for each model at batch 1 (objective latency) and at a large batch
# (objective throughput, batch chosen under a memory cap) lets the optimizer choose a plan,
# predicts it (`hetile simulate`) and runs it for real on the native backend right after
# (`hetile simulate --measure`: one warm-up run, then the median of REPEATS), and prints
# predicted vs measured latency and peak memory.
# With ROUNDS=k (default 1) the whole cycle (calibration included) runs k times, each round's
# table is printed, then per plan the median of the rounds' errors: on a shared machine the
# speed moves by 20-50% within minutes, and one round measures one moment.
# Usage: [ROUNDS=k] scripts/validate-simulator.sh [MAX_MEMORY (default 12G)] [REPEATS (default 3)]
# Run it on a quiet machine: every measurement is wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
MAXMEM="${1:-12G}"
REPEATS="${2:-3}"
ROUNDS="${ROUNDS:-1}"
OUT="${VALIDATE_OUT:-target/validate}"
mkdir -p "$OUT"
cargo build --release --locked --quiet
H=target/release/hetile
MODELS="${MODELS:-layers/tests/models/cryptonets.onnx layers/tests/models/tenseal_convnet.onnx tutorials/models/fraud_mlp.onnx}"
for round in $(seq 1 "$ROUNDS"); do
    R="$OUT/round$round"
    mkdir -p "$R"
    $H calibrate -o "$R/costs.yaml" >/dev/null
    for model in $MODELS; do
        name=$(basename "$model" .onnx)
        $H optimize "$model" --objective latency --batch 1 --costs "$R/costs.yaml" \
            -o "$R/$name-b1.yaml" >/dev/null
        $H optimize "$model" --objective throughput --batch choose --max-memory "$MAXMEM" \
            --costs "$R/costs.yaml" -o "$R/$name-large.yaml" >/dev/null
        for kind in b1 large; do
            $H simulate "$R/$name-$kind.yaml" --costs "$R/costs.yaml" --measure \
                --repeats "$REPEATS" --json >"$R/$name-$kind.json"
        done
    done
done
python3 - "$OUT" "$ROUNDS" $MODELS <<'PY'
import json, os, statistics, sys
out, rounds, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
errors = {}
for k in range(1, rounds + 1):
    if rounds > 1:
        print(f"\nround {k}\n")
    print("| model | batch | plan | predicted s | measured s | error | predicted MiB | measured MiB | error | sim/real speed |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model in models:
        name = os.path.basename(model)[:-5]
        for kind in ("b1", "large"):
            r = json.load(open(f"{out}/round{k}/{name}-{kind}.json"))
            p, m = r["predicted"], r["measured"]
            pm = p["peak_memory_bytes"] / 2**20
            mm = m["peak_memory_bytes"] / 2**20
            lat_err = (p["latency_seconds"] / m["latency_seconds"] - 1) * 100
            mem_err = (pm / mm - 1) * 100 if mm > 0 else float("nan")
            speed = m["latency_seconds"] / max(r["simulation_seconds"], 1e-9)
            errors.setdefault((name, kind), []).append((lat_err, mem_err, speed))
            print(f"| {name} | {r['batch_size']} | {r['threads']} thr | {p['latency_seconds']:.3f} | "
                  f"{m['latency_seconds']:.3f} | {lat_err:+.1f}% | {pm:.0f} | {mm:.0f} | {mem_err:+.1f}% | {speed:.0f}x |")
if rounds > 1:
    print(f"\nmedian over {rounds} rounds (range)\n")
    print("| model | batch | latency error | memory error | sim/real speed |")
    print("|---|---|---|---|---|")
    for (name, kind), v in errors.items():
        lat = [x[0] for x in v]; mem = [x[1] for x in v]; sp = [x[2] for x in v]
        print(f"| {name} | {kind} | {statistics.median(lat):+.1f}% ({min(lat):+.1f} to {max(lat):+.1f}) | "
              f"{statistics.median(mem):+.1f}% ({min(mem):+.1f} to {max(mem):+.1f}) | "
              f"{statistics.median(sp):.0f}x (min {min(sp):.0f}x) |")
PY
