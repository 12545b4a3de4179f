#!/usr/bin/env bash
# Set up (first time) and run the assistant: `./run.sh [serve|console|parse|call|admin|migrate] …`
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
exec .venv/bin/python main.py "$@"
