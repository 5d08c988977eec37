#!/usr/bin/env bash
# The Python wheel's tests: builds and installs the `hetile` wheel (maturin, abi3) into a venv
# under target/, runs the pytest suite in python/tests and executes the tutorial notebooks
# (tutorials/notebooks/0[0-3]-*.ipynb: quickstart, fraud detection, CryptoNets MNIST, the small
# AlexNet on Fashion-MNIST) with nbclient on that venv's kernel, failing on any cell error.
# Notebook 03 runs the `hetile` command line: the dev-profile binary that `cargo test --workspace`
# builds (HETILE_BIN, unless already set). Needs python3 (>= 3.9) and network access to PyPI
# (python/requirements-test.txt, and maturin for the build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VENV="${HETILE_PY_VENV:-$ROOT/target/py-venv}"
PYTHON="${PYTHON:-python3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet -r python/requirements-test.txt

# Notebook 03 calls the `hetile` CLI through HETILE_BIN (by hand it falls back to `cargo run
# --release`, a release build of the whole CLI with tract-onnx: minutes of CPU that CI avoids).
# The root package has integration tests, so `cargo test --workspace` also builds the dev-profile
# `hetile` binary into target/debug. Exactly the same command here is a no-op after
# scripts/test.sh's and brings the binary up to date when this script runs alone; any other
# selection (e.g. `cargo build --bin hetile`) resolves dependency features differently (syn
# without pyo3's, rustix, bit-vec) and would recompile much of the tree.
if [ -z "${HETILE_BIN:-}" ]; then
    start=$(date +%s)
    cargo test --workspace --locked --no-run --quiet
    HETILE_BIN="$CARGO_TARGET_DIR/debug/hetile"
    if [ ! -x "$HETILE_BIN" ]; then
        echo "cargo test --workspace --no-run did not leave $HETILE_BIN" >&2
        exit 1
    fi
    echo "hetile CLI (dev profile) up to date in $(( $(date +%s) - start )) s: $HETILE_BIN"
fi
export HETILE_BIN

start=$(date +%s)
# The test build uses the dev profile (the arithmetic crates are opt-level 3 there) so that it
# reuses what `cargo test` already compiled in target/; `pip install ./python` alone builds the
# release wheel.
export MATURIN_PEP517_ARGS="${MATURIN_PEP517_ARGS:---profile dev}"
"$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps ./python
echo "wheel built and installed in $(( $(date +%s) - start )) s"

# Run from the repository root so that the installed wheel (not python/hetile) is imported.
"$VENV/bin/python" -m pytest python/tests -q

"$VENV/bin/python" -m ipykernel install --prefix "$VENV" --name hetile-venv \
    --display-name "Python (hetile venv)" >/dev/null
"$VENV/bin/python" - tutorials/notebooks/0[0-3]-*.ipynb <<'PY'
import sys
import time

import nbformat
from nbclient import NotebookClient

paths = sys.argv[1:]
if len(paths) < 4:
    sys.exit(f"expected the four tutorial notebooks 00-03, found {paths}")
for path in paths:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="hetile-venv",
        allow_errors=False,
        resources={"metadata": {"path": "tutorials/notebooks"}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    print(f"{path}: {len(nb.cells)} cells executed without error in {seconds:.1f} s")
PY
