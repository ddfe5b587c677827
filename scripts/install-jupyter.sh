#!/usr/bin/env bash
# Installs a local Jupyter Server with ipykernel (plus nbclient/nbformat, the reference executor
# used by benchmarks and parity tests) if it is not there yet:
#   - from Debian/Ubuntu packages where apt-get is available (python3-jupyter-server, ...);
#   - otherwise from pip into the project's .venv (nbtrigger finds .venv/bin/python by itself).
# Idempotent and quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."
MODULES="import jupyter_server, ipykernel, nbclient, nbformat"
if [ -n "${NBTRIGGER_PYTHON:-}" ] && "$NBTRIGGER_PYTHON" -c "$MODULES" 2>/dev/null; then exit 0; fi
if [ -x .venv/bin/python ] && .venv/bin/python -c "$MODULES" 2>/dev/null; then exit 0; fi
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "$MODULES" 2>/dev/null; then exit 0; fi

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; }; then
  echo "nbtrigger: installing Jupyter Server + ipykernel from Debian packages (about 40 MB)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends \
    python3-jupyter-server python3-ipykernel python3-nbclient python3-nbformat >/dev/null
  /usr/bin/python3 -c "$MODULES"
  exit 0
fi

echo "nbtrigger: no apt-get here: installing Jupyter Server + ipykernel with pip into .venv..." >&2
PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "nbtrigger: python3 is required" >&2; exit 1; }
"$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet jupyter_server ipykernel nbclient nbformat
.venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
.venv/bin/python -c "$MODULES"
