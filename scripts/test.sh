#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of the workspace.
# Needs only the Rust toolchain pinned in rust-toolchain.toml (and network access to crates.io).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# ONNX import tests (hetile-layers with tract-onnx; the models are in layers/tests/models)
cargo test -p hetile-layers --features onnx --locked
