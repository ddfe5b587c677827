#!/usr/bin/env bash
# Sets up everything nbtrigger needs on a fresh machine: a local Jupyter Server with ipykernel,
# the npm dependencies, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-jupyter.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent
