#!/usr/bin/env bash
# Quick start: set everything up, then run examples/hello.ipynb through the local stack
# (local Jupyter server + the Pub/Sub function under functions-framework + a published message).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/nbtrigger.js local examples/hello.ipynb
