#!/usr/bin/env bash
# Extra system packages some tests need beyond the Jupyter server (installed by CI; on a
# developer machine those tests skip with a notice when a package is missing):
#   chromium — renders the run-history page headless and checks what a person sees;
#   the notebook image's data-science base (notebook-image/versions.txt, role `base`) — its
#   versions are compared with the image's pins, and the bench times a kernel start with it.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c 'import numpy, pandas, matplotlib, ipywidgets' 2>/dev/null \
  || need+=(python3-numpy python3-pandas python3-matplotlib python3-ipywidgets)
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
