#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of the workspace.
# Needs the Rust toolchain pinned in rust-toolchain.toml and python3 (>= 3.9) with pip and venv;
# crates come from crates.io, Python packages (numpy, pytest, nbclient, maturin) from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# (the workspace build unifies features: hetile-layers is built with `onnx`, so the ONNX import
# tests in layers/tests/onnx.rs run here too)
cargo test --workspace --locked
# The Python wheel: build, install into a venv under target/, pytest, the tutorial notebooks 00-03
./scripts/test-python.sh
