#!/usr/bin/env bash
# The Rust style gate: formatting as rustfmt writes it, and clippy with every
# warning an error, on every target (library, binary, tests, benches).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
echo "lint-rust: cargo fmt --check: ok"
cargo clippy --locked --all-targets -- -D warnings
echo "lint-rust: cargo clippy --all-targets -D warnings: ok"
