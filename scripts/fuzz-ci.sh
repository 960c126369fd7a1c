#!/usr/bin/env bash
# Runs the front end's fuzz target (raw client byte streams, start-up to the
# extended protocol) for a bounded time: FUZZ_SECONDS, default 60. Installs
# cargo-fuzz when missing. RUSTC_BOOTSTRAP lets the stable toolchain take
# the flags cargo-fuzz passes; no sanitizer, so the build stays short (a
# panic is what the target looks for).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --version 0.13.2
cd fuzz
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
RUSTC_BOOTSTRAP=1 cargo fuzz run frontend_stream "$corpus" seeds/frontend_stream \
    --sanitizer none -- -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096
