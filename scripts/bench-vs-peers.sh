#!/usr/bin/env bash
# Times SEAL (TenSEAL's sealapi) and OpenFHE, then hetile's native CKKS backend, back to back on the
# same machine and parameters, and prints a table of hetile/peer ratios per op and parameter set.
#   usage: scripts/bench-vs-peers.sh [PARAMS (default N14_L4,N15_L8)] [REPS (default 10)]
# Set-up of the peers (../shared/peers/setup.sh) happens on first use into .peers/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
params=${1:-N14_L4,N15_L8}
reps=${2:-10}
peers=../shared/peers
[ -d "$peers" ] || { echo "no $peers: the peer scripts live in the project's shared folder" >&2; exit 1; }
if [ ! -x .peers/venv/bin/python ]; then
  "$peers/setup.sh" .peers
fi
export PEERS_VENV=.peers/venv PEERS_VENV310=.peers/venv310 PEERS_OUT=.peers/results
mkdir -p "$PEERS_OUT"
cargo build --release --quiet
.peers/venv/bin/python "$peers/tenseal_bench.py" --configs "$params" --thread-modes 1 --reps "$reps"
if [ -x .peers/venv310/bin/python ]; then
  .peers/venv310/bin/python "$peers/openfhe_bench.py" --configs "$params" --thread-modes 1 --reps "$reps"
fi
# precision over many encryptions (one encryption's largest error moves by ~10%)
PEERS_DIR="$peers" .peers/venv/bin/python scripts/peer_precision.py seal "$params" \
  > "$PEERS_OUT/seal_precision.json"
if [ -x .peers/venv310/bin/python ]; then
  PEERS_DIR="$peers" .peers/venv310/bin/python scripts/peer_precision.py openfhe "$params" \
    > "$PEERS_OUT/openfhe_precision.json"
fi
./target/release/hetile bench ckks --params "$params" --threads 1 --reps "$reps" --json \
  > "$PEERS_OUT/hetile.json"
python3 scripts/peer_ratios.py "$PEERS_OUT"
