#!/bin/sh
# Starts Jupyter Server for nbtrigger: the image's CMD, and the local check of this config.
#   PORT            port to listen on (Cloud Run sets it; default 8080)
#   JUPYTER_IP      address to bind (default 0.0.0.0, as Cloud Run needs)
#   JUPYTER_TOKEN   required, from Secret Manager (never on the command line: ps would show it)
#   PYTHON          interpreter with jupyter_server + ipykernel (default python3)
#   NBTRIGGER_JUPYTER_CONFIG  config file (default: jupyter_server_config.py beside this script)
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
if [ -z "${JUPYTER_TOKEN:-}" ] && [ -z "${JUPYTER_TOKEN_FILE:-}" ]; then
  echo "nbtrigger: JUPYTER_TOKEN is not set (mount it from Secret Manager); refusing to start" >&2
  exit 64
fi
# server_main.py starts the kernel pool's first kernel beside the server's imports, then runs
# Jupyter Server in the same process (as `python3 -m jupyter_server` would).
exec "${PYTHON:-python3}" "$here/server_main.py" \
  --config="${NBTRIGGER_JUPYTER_CONFIG:-$here/jupyter_server_config.py}" \
  --ServerApp.ip="${JUPYTER_IP:-0.0.0.0}" \
  --ServerApp.port="${PORT:-8080}" \
  --no-browser "$@"
