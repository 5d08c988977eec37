#!/usr/bin/env bash
# Checks the optimizer's choice against real runs (issue 9): for CryptoNets and the TenSEAL
# ConvNet under the latency (batch 1) and throughput (batch chosen, memory cap) objectives, the
# optimizer writes its fully simulated candidates (best first; the first is its choice); every
# candidate is then run for real on the native backend, and the table shows where the chosen
# plan's measured time stands among the measured alternatives.
# Usage: [OBJECTIVES="latency throughput"] [MODELS="a.onnx b.onnx"] \
#        scripts/validate-optimizer.sh [MAX_MEMORY (default 8G)]      (on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
MAXMEM="${1:-8G}"
OUT="${VALIDATE_OUT:-target/validate-opt}"
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --release --locked --quiet
H=target/release/hetile
$H calibrate -o "$OUT/costs.yaml" >/dev/null
MODELS="${MODELS:-layers/tests/models/cryptonets.onnx layers/tests/models/tenseal_convnet.onnx}"
for model in $MODELS; do
    name=$(basename "$model" .onnx)
    for objective in ${OBJECTIVES:-latency throughput}; do
        dir="$OUT/$name-$objective"
        if [ "$objective" = latency ]; then batch=1; reps=3; else batch=choose; reps=1; fi
        start=$(date +%s%N)
        $H optimize "$model" --objective "$objective" --batch "$batch" --max-memory "$MAXMEM" \
            --costs "$OUT/costs.yaml" --save-candidates "$dir" -o "$dir.yaml" >/dev/null
        echo "$(( ($(date +%s%N) - start) / 1000000 ))" >"$dir.search_ms"
        for plan in "$dir"/candidate-*.yaml; do
            $H simulate "$plan" --costs "$OUT/costs.yaml" --measure --repeats "$reps" --json \
                >"${plan%.yaml}.json"
        done
    done
done
python3 - "$OUT" $MODELS <<'PY'
import glob, json, os, sys
out = sys.argv[1]
print("| model | objective | search s | plans measured | chosen: predicted / measured | best measured (rank) | chosen slower than best by |")
print("|---|---|---|---|---|---|---|")
for model in sys.argv[2:]:
    name = os.path.basename(model)[:-5]
    for objective in os.environ.get("OBJECTIVES", "latency throughput").split():
        d = f"{out}/{name}-{objective}"
        runs = []
        for f in glob.glob(f"{d}/candidate-*.json"):
            rank = int(f.rsplit("-", 1)[1][:-5])
            r = json.load(open(f))
            runs.append((rank, r))
        runs.sort(key=lambda x: x[0])
        key = (lambda r: r["measured"]["latency_seconds"]) if objective == "latency" \
            else (lambda r: -r["measured"]["throughput_per_second"])
        unit = (lambda r: f"{r['latency_seconds']:.3f} s") if objective == "latency" \
            else (lambda r: f"{r['throughput_per_second']:.1f}/s")
        chosen = runs[0][1]
        best_rank, best = min(runs, key=lambda x: key(x[1]))
        # how much slower the chosen plan measured than the best measured one
        worse = key(chosen) / key(best) - 1 if objective == "latency" else key(best) / key(chosen) - 1
        search = float(open(f"{d}.search_ms").read()) / 1000
        print(f"| {name} | {objective} | {search:.2f} | {len(runs)} | {unit(chosen['predicted'])} / "
              f"{unit(chosen['measured'])} | {unit(best['measured'])} (#{best_rank}) | "
              f"{worse * 100:+.1f}% |")
PY
