#!/usr/bin/env bash
# Installs what the real-client integration tests (tests/python/test_clients.py)
# need: pytest, psycopg 3 and asyncpg from PyPI, and node-postgres (pg) into
# tests/node/node_modules from tests/node/package-lock.json. Idempotent: each
# step runs only when its package is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

missing=()
"$PYTHON" -c 'import pytest' 2>/dev/null || missing+=("pytest")
"$PYTHON" -c 'import psycopg, psycopg_binary' 2>/dev/null || missing+=("psycopg[binary]")
"$PYTHON" -c 'import asyncpg' 2>/dev/null || missing+=("asyncpg")
if ((${#missing[@]})); then
    echo "test-deps: pip installing ${missing[*]}"
    "$PYTHON" -m pip install --quiet "${missing[@]}"
fi

if command -v npm >/dev/null 2>&1; then
    if [[ ! -f "$ROOT/tests/node/node_modules/pg/package.json" ]]; then
        echo "test-deps: npm installing pg into tests/node/node_modules"
        cd "$ROOT/tests/node"
        if [[ -f package-lock.json ]]; then
            npm ci --no-audit --no-fund --loglevel=error
        else
            npm install --no-audit --no-fund --loglevel=error
        fi
    fi
else
    echo "test-deps: npm not found; the node-postgres test will be skipped" >&2
fi
