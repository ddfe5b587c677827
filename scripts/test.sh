#!/usr/bin/env bash
# The test command (npm test): builds, makes sure a local Jupyter server can be started,
# then runs every test under node's test runner. Tests start their own Jupyter servers and
# emulators; emulator tests skip with a notice when the emulator is missing (fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests talk to loopback only: Google client libraries must not probe the cloud metadata server
# (169.254.169.254) when no credentials are configured.
export METADATA_SERVER_DETECTION=none GCE_METADATA_HOST=127.0.0.1:9 GCE_METADATA_IP=127.0.0.1:9
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/install-jupyter.sh
rm -rf dist
npm run build --silent
# Only *.test.js files: node would also load every file under a test/ folder (helpers) as a test.
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find dist/test -name '*.test.js' | sort); fi
# TAP on stdout; the failed tests again on stderr once all have run (scripts/test-failures.mjs), so the
# tail of a long log names them.
exec node --test --test-concurrency="${NBTRIGGER_TEST_CONCURRENCY:-3}" --test-timeout=900000 \
  --test-reporter=tap --test-reporter-destination=stdout \
  --test-reporter="$PWD/scripts/test-failures.mjs" --test-reporter-destination=stderr "${files[@]}"
