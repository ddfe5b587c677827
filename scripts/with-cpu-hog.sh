#!/usr/bin/env bash
# Runs a command while one busy-looping process spins on each core, as when CI shares its
# machine with other work. The spinners are bounded twice: each is killed after MAX_SECONDS
# by `timeout`, and all are killed when this script exits (any way: success, failure, signal).
#   bash scripts/with-cpu-hog.sh MAX_SECONDS command [args...]
set -euo pipefail
max="${1:?usage: with-cpu-hog.sh MAX_SECONDS command [args...]}"
shift
[ $# -gt 0 ] || { echo "with-cpu-hog.sh: no command" >&2; exit 2; }
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cores="$(nproc)"
for _ in $(seq "$cores"); do
  timeout --signal=KILL "$max" bash -c 'while :; do :; done' &
  pids+=($!)
done
echo "with-cpu-hog: ${cores} spinner(s) for at most ${max} s" >&2
status=0
"$@" || status=$?
exit "$status"
