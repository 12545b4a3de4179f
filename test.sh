#!/usr/bin/env bash
# Set up (first time) and run the whole test suite against real peers: `./test.sh [pytest args]`
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh --test

# PostgreSQL on 127.0.0.1:5432 (database `test`) is part of the test bed.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi

# The shape of the code: lint and format, the layer rules (pyproject.toml), the types.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
