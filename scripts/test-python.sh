#!/usr/bin/env bash
# The Python wheel's tests: builds and installs the `hetile` wheel (maturin, abi3) into a venv
# under target/, runs the pytest suite in python/tests and executes the tutorial notebooks
# (tutorials/notebooks/0[0-2]-*.ipynb: quickstart, fraud detection, CryptoNets MNIST) with
# nbclient on that venv's kernel, failing on any cell error. Needs python3 (>= 3.9) and network access to PyPI (python/requirements-test.txt,
# and maturin for the build).
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
"$VENV/bin/python" - tutorials/notebooks/0[0-2]-*.ipynb <<'PY'
import sys
import time

import nbformat
from nbclient import NotebookClient

paths = sys.argv[1:]
if len(paths) < 3:
    sys.exit(f"expected the three tutorial notebooks 00-02, found {paths}")
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
