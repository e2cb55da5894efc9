#!/usr/bin/env bash
# Set up (when needed) and run avatarcall: one process, no other server.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/avatarcall serve --host "${AVATARCALL_HOST:-127.0.0.1}" --port "${AVATARCALL_PORT:-8080}" "$@"
