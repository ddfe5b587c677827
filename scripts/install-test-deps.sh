#!/usr/bin/env bash
# Extra system packages some tests need beyond the Jupyter server (installed by CI; on a
# developer machine those tests skip with a notice when a package is missing):
#   chromium — renders the run-history page headless and checks what a person sees.
# With --heavy: the Python packages users' kernels import, for CI's heavy-kernel leg (Debian's
# python3-numpy, python3-pandas, python3-matplotlib, python3-ipywidgets; they make kernels slower
# to start and change what the widget notebooks of the parity corpus do). They are the notebook
# image's data-science base (notebook-image/versions.txt, role `base`): that leg also compares
# their versions with the image's pins.
set -euo pipefail
need=()
if [ "${1:-}" = --heavy ]; then
  for p in numpy pandas matplotlib ipywidgets; do
    /usr/bin/python3 -c "import $p" 2>/dev/null || need+=("python3-$p")
  done
else
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "nbtrigger: no apt-get: cannot install ${need[*]}" \
    "(the tests that need them will skip or, under CI=true, fail)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "nbtrigger: installing test packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
