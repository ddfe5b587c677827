"""How many kernels nbtrigger's kernel pool may hold: part of jupyter_kernel_pool.py (which describes
the pool and its configuration), run in that file's namespace.

The sizes NBTRIGGER_KERNEL_POOL asks for per kernelspec, the resident memory budget of the pooled
kernels (NBTRIGGER_KERNEL_POOL_MEMORY_MB, else a quarter of the container's or the machine's
memory), and one kernel's resident memory as /proc reports it, which the pool measures against
that budget (jupyter_kernel_pool_kernels.py).
"""

# The pool when NBTRIGGER_KERNEL_POOL is not set: one python3 kernel (server_main.py starts it).
DEFAULT_POOL = "python3:1"


def parse_pool_sizes(text):
    """`python3:1,ir:2` -> {"python3": 1, "ir": 2}; sizes 0 and bad entries are left out."""
    sizes = {}
    for item in (text or "").split(","):
        name, _, size = item.strip().rpartition(":")
        if name and size.strip().isdigit() and int(size) > 0:
            sizes[name.strip()] = int(size)
    return sizes


def memory_budget(environ):
    mb = environ.get("NBTRIGGER_KERNEL_POOL_MEMORY_MB", "").strip()
    if mb.isdigit():
        return int(mb) << 20
    limit = None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as f:
                value = f.read().strip()
            if value.isdigit() and int(value) < (1 << 60):
                limit = int(value)
                break
        except OSError:
            pass
    if limit is None:
        try:
            with open("/proc/meminfo", encoding="ascii") as f:
                limit = int(f.readline().split()[1]) << 10
        except (OSError, ValueError, IndexError):
            limit = 1 << 30
    return limit // 4


def _rss(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) << 10
    except (OSError, ValueError):
        pass
    return None
