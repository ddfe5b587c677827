#!/bin/sh
# Installs the notebooks' own Python packages (requirements.txt) with pip, on top of the Debian
# packages pinned in versions.txt, and checks that those are still what Python imports.
#   install-requirements.sh REQUIREMENTS [PIP OPTIONS...]
#   PYTHON  the interpreter (default /usr/bin/python3, Debian's, which the server and kernels run)
# versions.txt and versions.py are read from this script's folder.
#
# pip installs into /usr/local/lib/python3.11/dist-packages (--break-system-packages: Debian marks
# its Python as managed by apt), which that interpreter reads before Debian's own folder. So a
# package there could shadow a pinned one: every pip run here is constrained to the pinned
# versions (-c, from versions.txt), and a requirement that needs another version of one of them
# fails the build (pip: ResolutionImpossible) instead of replacing what the tests ran. Then
# `versions.py check` and `pip check` confirm the result.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
requirements=${1:?usage: install-requirements.sh REQUIREMENTS [PIP OPTIONS...]}
shift
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
"$python" "$here/versions.py" constraints "$here/versions.txt" > "$constraints"
# A requirements file of comments only installs nothing (pip would refuse an empty list).
if grep -qv '^[[:space:]]*\(#.*\)\{0,1\}$' "$requirements"; then
  "$python" -m pip install --break-system-packages --no-cache-dir --constraint "$constraints" \
    --requirement "$requirements" "$@"
fi
"$python" "$here/versions.py" check "$here/versions.txt"
"$python" -m pip check
