"""A pool of pre-started kernels for nbtrigger's Jupyter servers: the image's (jupyter_server_config.py
runs this file) and the private local ones (cli/local/jupyter-server.ts), for any client of the REST API.

A kernel start is most of a short run (a Python process importing IPython, ipykernel, zmq...). With a
pool, POST /api/kernels for a pooled kernelspec hands out a kernel that has already started and
answered, and starts its replacement in the background. The pool is filled as the server starts, so
on a cold container the first kernel starts while the client is still connecting.

Every run still gets a fresh, never-used kernel process. A pooled kernel is started in an empty
folder of its own and has run nothing; when claimed it is moved, before it is returned, to what a
kernel started for that request would have: the working directory (the POST's `path`, else the
server's), that folder in sys.path and IPython's `_dh` in place of the pool's, and the environment
the server would give a new kernel (its own now, the request's `env`, the kernelspec's `env`). That
move is one silent execute through the kernel manager's own client, which binds no name, imports no
module and counts no execution. A claimed kernel never goes back to the pool; a pooled kernel that
died while waiting is never handed out (it is replaced). A request the pool cannot serve (a
kernelspec without a pool, a `kernel_id`, other start arguments, an empty pool) starts a kernel as
the server always does.

Configuration (environment of the server):
- NBTRIGGER_KERNEL_POOL: `kernelspec:size[,kernelspec:size...]`; size 0, `0`, `off` or empty disables.
- NBTRIGGER_KERNEL_POOL_MEMORY_MB: the pooled kernels' resident memory budget; a kernel is pooled
  only while the pool's RSS (measured per kernel from /proc) plus one more kernel fits in it.
  Default: a quarter of the container's memory limit (cgroup), else of the machine's memory.

Targets jupyter_server 1.x and 2.x (the pool replaces the mapping kernel manager's
`pinned_superclass` start) over jupyter_client 7.x and 8.x (MultiKernelManager `_kernels`,
`pre_start_kernel`, `_async_start_kernel`); tested on Debian's jupyter_server 1.23 and jupyter_client
7.4. On any other version the pool is disabled with one warning line.
"""
import asyncio
import os
import shutil
import string
import sys
import tempfile
from collections import deque

_SERVER_MAJORS = ("1", "2")
_CLIENT_MAJORS = ("7", "8")
_ASSUMED_RSS = 100 << 20  # a kernel's RSS before the first one has been measured
_READY_TIMEOUT = 60.0  # a pooled kernel's start: as long as a start could take
_MOVE_TIMEOUT = 10.0  # the claim's silent execute on a kernel that has already answered
_WATCH_INTERVAL = 2.0  # how often pooled kernels are checked for a death while waiting


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


def launch_env(base, kernel_spec):
    """The environment a kernel started now would get (jupyter_client's provisioner pre_launch)."""
    env = dict(base)
    spec_env = getattr(kernel_spec, "env", None) or {}
    env.update({k: string.Template(v).safe_substitute(env) for k, v in spec_env.items()})
    if (getattr(kernel_spec, "language", "") or "").lower().startswith("python"):
        env.pop("PYTHONEXECUTABLE", None)
    return env


# Run in the claimed kernel with its own globals (exec), so nothing lands in the user's namespace.
_MOVE = '''
import importlib, os, sys
old, new, changes = {old!r}, {new!r}, {changes!r}
os.chdir(new)
sys.path[:] = [new if p == old else p for p in sys.path]
importlib.invalidate_caches()
for k, (was, now) in changes.items():
    if os.environ.get(k) == was:  # a variable the kernel set for itself stays as a fresh kernel sets it
        if now is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = now
from IPython import get_ipython
ip = get_ipython()
dh = ip.user_ns.get("_dh") if ip is not None else None
if isinstance(dh, list) and dh:
    dh[:] = [type(dh[0])(new)]
'''


class _Pooled:
    def __init__(self, km, env):
        self.km = km
        self.env = env  # the launch environment it was started with
        self.client = None
        self.ready = None  # task: True once it answered a kernel_info_request


async def _shell_call(client, msg_id, timeout):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        reply = await client.get_shell_msg(timeout=max(0.0, deadline - loop.time()))
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            return reply


class KernelPool:
    def __init__(self, mkm, sizes, budget):
        self.mkm = mkm
        self.sizes = dict(sizes)
        self.budget = budget
        self.queues = {name: deque() for name in sizes}
        self.rss = {}
        self.folder = tempfile.mkdtemp(prefix="nbtrigger-kernel-pool-")
        self.closed = False
        self.watcher = None

    def log(self):
        return self.mkm.log

    def fill(self):
        if self.closed:
            return
        if self.watcher is None:
            self.watcher = asyncio.ensure_future(self._watch())
        for name, size in self.sizes.items():
            queue = self.queues[name]
            while len(queue) < size:
                estimate = self.rss.get(name, _ASSUMED_RSS)
                pooled = sum(self.rss.get(n, _ASSUMED_RSS) * len(q) for n, q in self.queues.items())
                if pooled + estimate > self.budget:
                    self.log().warning("kernel pool: %s held at %d kernel(s): %d MB of RSS would exceed %d MB",
                                       name, len(queue), (pooled + estimate) >> 20, self.budget >> 20)
                    break
                queue.append(self._start(name))

    def _start(self, name):
        km, _, kernel_id = self.mkm.pre_start_kernel(name, {})
        km.autorestart = False  # a pooled kernel that dies is replaced, not restarted in place
        entry = _Pooled(km, launch_env(os.environ, km.kernel_spec))
        entry.ready = asyncio.ensure_future(self._boot(entry, name, kernel_id))
        return entry

    async def _boot(self, entry, name, kernel_id):
        km = entry.km
        try:
            await asyncio.wait_for(self._boot_kernel(entry, kernel_id), _READY_TIMEOUT)
        except Exception as e:
            self.log().warning("kernel pool: a %s kernel did not start (%s); it is not pooled", name, e)
            await self._discard(entry)
            if entry in self.queues[name]:
                self.queues[name].remove(entry)
            return False
        pid = getattr(km.provisioner, "pid", None)
        rss = _rss(pid) if pid else None
        if rss:
            self.rss[name] = max(rss, self.rss.get(name, 0))
        return True

    async def _boot_kernel(self, entry, kernel_id):
        km = entry.km
        await km.start_kernel(cwd=self.folder, kernel_id=kernel_id)
        client = entry.client = km.client()
        client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        await _shell_call(client, client.kernel_info(), _READY_TIMEOUT)

    async def claim(self, name, cwd, env):
        """A started kernel moved to `cwd` and `env`, its replacement starting; None when there is none."""
        if self.watcher is None:  # the server's loop did not run the first fill: fill now
            self.fill()
        queue = self.queues.get(name)
        while queue and not self.closed:
            entry = queue.popleft()
            self.fill()
            if not await entry.ready or not await entry.km.is_alive():
                self.log().warning("kernel pool: a pooled %s kernel died while waiting; replaced", name)
                await self._discard(entry)
                continue
            try:
                await self._move(entry, cwd or os.getcwd(), env)
            except Exception as e:
                self.log().warning("kernel pool: a pooled %s kernel could not be moved (%s); replaced", name, e)
                await self._discard(entry)
                continue
            km = entry.km
            km.autorestart = True
            km.start_restarter()
            return km
        return None

    async def _move(self, entry, cwd, env):
        now = launch_env(os.environ if env is None else env, entry.km.kernel_spec)
        keys = set(entry.env) | set(now)
        changes = {k: (entry.env.get(k), now.get(k)) for k in keys if entry.env.get(k) != now.get(k)}
        code = "__import__('builtins').exec(%r, {})" % _MOVE.format(old=self.folder, new=cwd, changes=changes)
        client = entry.client
        try:
            reply = await _shell_call(client, client.execute(code, silent=True, store_history=False), _MOVE_TIMEOUT)
        finally:
            client.stop_channels()
            entry.client = None
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")

    async def _discard(self, entry):
        if entry.client is not None:
            entry.client.stop_channels()
            entry.client = None
        km = entry.km
        try:
            if km.has_kernel:
                await km.shutdown_kernel(now=True)
            else:
                await km.cleanup_resources()
        except Exception as e:
            self.log().warning("kernel pool: could not stop a pooled kernel: %s", e)

    async def _watch(self):
        while not self.closed:
            await asyncio.sleep(_WATCH_INTERVAL)
            for name, queue in self.queues.items():
                for entry in list(queue):
                    if entry.ready.done() and entry.ready.result() and not await entry.km.is_alive():
                        self.log().warning("kernel pool: a pooled %s kernel died while waiting; replaced", name)
                        queue.remove(entry)
                        await self._discard(entry)
            self.fill()

    async def close(self):
        self.closed = True
        if self.watcher is not None:
            self.watcher.cancel()
        entries = [e for q in self.queues.values() for e in q]
        for q in self.queues.values():
            q.clear()
        for entry in entries:
            try:
                await entry.ready
            except BaseException:
                pass
        await asyncio.gather(*(self._discard(e) for e in entries), return_exceptions=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def _pooled_start(base):
    """The mapping kernel manager's `pinned_superclass`, with starts served from its pool first."""

    async def _async_start_kernel(self, kernel_name=None, **kwargs):
        pool = getattr(self, "_nbtrigger_pool", None)
        if pool is not None and not set(kwargs) - {"cwd", "env"}:
            km = await pool.claim(kernel_name or self.default_kernel_name, kwargs.get("cwd"), kwargs.get("env"))
            if km is not None:
                self._kernels[km.kernel_id] = km
                return km.kernel_id
        return await base._async_start_kernel(self, kernel_name=kernel_name, **kwargs)

    return type("NbtriggerPooledStart", (base,), {"_async_start_kernel": _async_start_kernel,
                                                   "start_kernel": _async_start_kernel})


def _versions_known():
    try:
        import jupyter_client
        import jupyter_server
        from jupyter_client.multikernelmanager import MultiKernelManager
    except Exception:
        return None
    if jupyter_server.__version__.split(".")[0] not in _SERVER_MAJORS:
        return f"jupyter_server {jupyter_server.__version__}"
    if jupyter_client.__version__.split(".")[0] not in _CLIENT_MAJORS:
        return f"jupyter_client {jupyter_client.__version__}"
    if not all(hasattr(MultiKernelManager, a) for a in ("_async_start_kernel", "pre_start_kernel", "_kernels")):
        return f"jupyter_client {jupyter_client.__version__} (no _async_start_kernel)"
    return ""


def install(c, environ, default=""):
    """Makes the server's kernel manager pool kernels as NBTRIGGER_KERNEL_POOL (else `default`) says."""
    sizes = parse_pool_sizes(environ.get("NBTRIGGER_KERNEL_POOL", default))
    if not sizes or environ.get("JUPYTER_GATEWAY_URL"):  # no pool asked for, or kernels run elsewhere
        return
    if "kernel_manager_class" in c.ServerApp:
        print("nbtrigger: kernel pool disabled: ServerApp.kernel_manager_class is configured", file=sys.stderr)
        return
    unknown = _versions_known()
    if unknown is None:
        return
    if unknown:
        print(f"nbtrigger: kernel pool disabled: {unknown} is not a version it targets", file=sys.stderr)
        return
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

    budget = memory_budget(environ)

    class PooledMappingKernelManager(AsyncMappingKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.pinned_superclass = _pooled_start(self.pinned_superclass)
            self._nbtrigger_pool = KernelPool(self, sizes, budget)
            try:  # filled as soon as the server's loop runs
                from tornado.ioloop import IOLoop
                IOLoop.current().add_callback(self._nbtrigger_pool.fill)
            except Exception:
                pass  # filled on the first kernel start instead

        def __bool__(self):
            # MultiKernelManager has __len__ (its kernel count), and the server's cleanup_kernels skips a
            # falsy manager: with no kernel in use, shutdown_all (and the pool's close) would never run.
            return True

        async def shutdown_all(self, now=False):
            await self._nbtrigger_pool.close()
            result = super().shutdown_all(now=now)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            return result

    c.ServerApp.kernel_manager_class = PooledMappingKernelManager
