#!/usr/bin/env bash
# Set up (when needed) and run every test: unit, integration (real aiortc peers), browser
# (Debian's Chromium driven by Playwright, two people per test).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
