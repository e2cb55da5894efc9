#!/usr/bin/env bash
# Sets up avatarcall on Debian/Ubuntu: system packages when missing, then a virtualenv in .venv.
#   scripts/setup.sh          what the server needs (espeak-ng)
#   scripts/setup.sh --test   plus what the tests need (Chromium, coturn, the test extras)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

packages=()
command -v espeak-ng >/dev/null || packages+=(espeak-ng)
python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=(python3-venv)
if [ "$want_test" = 1 ]; then
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  command -v turnserver >/dev/null || packages+=(coturn)
  # several nodes: the tests start these servers themselves, in directories of their own
  command -v redis-server >/dev/null || packages+=(redis-server)
  command -v haproxy >/dev/null || packages+=(haproxy)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
  fc-list 2>/dev/null | grep -qi dejavu || packages+=(fonts-dejavu-core)
  # voices of recorded speakers beside espeak-ng's, for bench conversation's spoken questions
  command -v flite >/dev/null || packages+=(flite)
  # speakers for Firefox: a null sink keeps its sound at the wall clock's pace (testing/speakers.py)
  command -v pulseaudio >/dev/null || packages+=(pulseaudio)
  # the browser SDK's own tests (node's test runner) and its TypeScript consumer
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi
# Firefox ESR beside Chromium: Debian's package (Ubuntu has none; its Firefox tests are skipped,
# and .venv/.no-firefox-esr stops asking apt each time).
want_firefox=0
if [ "$want_test" = 1 ] && ! command -v firefox-esr >/dev/null && [ ! -f .venv/.no-firefox-esr ]; then
  want_firefox=1
fi
if [ "${#packages[@]}" -gt 0 ] || [ "$want_firefox" = 1 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  if [ "$want_firefox" = 1 ]; then
    if apt-cache show firefox-esr >/dev/null 2>&1; then
      packages+=(firefox-esr)
    elif [ -d .venv ]; then
      touch .venv/.no-firefox-esr
    fi
  fi
  if [ "${#packages[@]}" -gt 0 ]; then
    echo "setup: installing system packages: ${packages[*]} (a minute or two, once)"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  fi
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"avatarcall needs Python 3.11 or newer, this is {sys.version.split()[0]}")
PY

if [ ! -x .venv/bin/python ]; then
  echo "setup: making a virtualenv in .venv"
  python3 -m venv .venv
fi
extras=""
[ "$want_test" = 1 ] && extras="[test]"
stamp=".venv/.installed${extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing avatarcall${extras} and its Python packages into .venv (about a minute, once)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import avatarcall, aiortc, skia" || { echo "installing Python packages failed" >&2; exit 1; }
  touch "$stamp"
  echo "setup: done"
fi
