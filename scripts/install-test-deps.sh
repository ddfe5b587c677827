#!/usr/bin/env bash
# Extra system packages some tests need beyond the Jupyter server (installed by CI; on a
# developer machine those tests skip with a notice when a package is missing):
#   chromium — renders the run-history page headless and checks what a person sees.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "nbtrigger: no apt-get: cannot install ${need[*]} (the tests that need them will skip or, under CI=true, fail)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "nbtrigger: installing test packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
