#!/usr/bin/env bash
# The dependency gate: `cargo deny check` with deny.toml. Licences, bans and
# sources always run (they need only Cargo.lock and the crates.io index).
# Advisories need the RustSec database, fetched from GitHub, which CI cannot
# always reach and which cannot be vendored here: they run when the fetch
# succeeds, and the script says plainly which checks ran.
# Installs cargo-deny (pinned) when missing; a failed install fails the gate,
# under CI=true as anywhere else: nothing is skipped silently.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2

if ! cargo deny --version >/dev/null 2>&1; then
    echo "deny: installing cargo-deny $CARGO_DENY_VERSION (cargo install, a few minutes)"
    if ! cargo install --locked cargo-deny --version "$CARGO_DENY_VERSION"; then
        echo "deny: FAILED: could not install cargo-deny $CARGO_DENY_VERSION; the dependency gate did not run" >&2
        exit 1
    fi
fi

# --log-level error: the multiple-versions warnings of deny.toml stay quiet;
# a failing check still prints its errors.
cargo deny --locked --log-level error check licenses bans sources
echo "deny: ran licenses, bans, sources: ok"

fetch_log="$(mktemp)"
trap 'rm -f "$fetch_log"' EXIT
if timeout 120 cargo deny --locked fetch db >"$fetch_log" 2>&1; then
    cargo deny --locked --log-level error check --disable-fetch advisories
    echo "deny: ran advisories (RustSec database fetched now): ok"
else
    echo "deny: did NOT run advisories: the RustSec database could not be fetched ($(grep -v '^\s*$' "$fetch_log" | tail -n 1))"
fi
