"""The notebook image's pinned packages (versions.txt): the pip constraints and the build-time
check, from that one list. Run by the Dockerfile and install-requirements.sh:

    python3 versions.py constraints VERSIONS  # DISTRIBUTION==VERSION, one a line (pip --constraint)
    python3 versions.py check VERSIONS        # exit 1, one line per difference, unless installed as pinned

`check` compares every line with what is installed: the Debian version (dpkg-query; a pinned
`any` only needs the package installed), the version Python finds first on its path
(importlib.metadata, so a pip copy in /usr/local shadowing Debian's counts) and that this copy is
Debian's (under /usr/lib/python3/dist-packages).
"""
import importlib.metadata
import os
import platform
import subprocess
import sys

DEBIAN_SITE = "/usr/lib/python3/dist-packages"


def read_pins(path):
    """[(role, package, debian_version, distribution, version)], in file order; raises on a bad line."""
    pins = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) != 5 or words[0] not in ("path", "base"):
                raise ValueError(f"{path}:{number}: expected `role package debian-version distribution version`")
            pins.append(tuple(words))
    if not pins:
        raise ValueError(f"{path}: no packages")
    return pins


def debian_version(package):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def python_version(distribution):
    """(version, folder it was found in) of the copy Python imports, or (None, None)."""
    if distribution == "python":
        return platform.python_version(), None
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None, None
    return dist.version, str(dist.locate_file(""))


def differences(pins, debian=debian_version, python=python_version):
    """Every way the installed packages differ from the pins; [] when they are as pinned."""
    out = []
    for _role, package, deb, dist, ver in pins:
        got = debian(package)
        if got is None or (got != deb and deb != "any"):
            out.append(f"{package}: Debian version {got or 'not installed'}, pinned {deb}")
        found, where = python(dist)
        if found != ver:
            out.append(f"{dist}: Python finds {found or 'nothing'}, pinned {ver}")
        elif where is not None and os.path.normpath(where) != DEBIAN_SITE:
            out.append(f"{dist} {found}: Python finds the copy in {where}, not Debian's in {DEBIAN_SITE}")
    return out


def main(argv):
    if len(argv) != 3 or argv[1] not in ("constraints", "check"):
        sys.stderr.write(__doc__)
        return 2
    pins = read_pins(argv[2])
    if argv[1] == "constraints":
        print("\n".join(f"{n}=={v}" for _r, _p, _d, n, v in pins if n != "python"))
    else:
        problems = differences(pins)
        for line in problems:
            print(f"versions: {line}", file=sys.stderr)
        if problems:
            print(f"versions: {len(problems)} difference(s) from {argv[2]}", file=sys.stderr)
            return 1
        print(f"versions: all {len(pins)} packages as pinned in {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
