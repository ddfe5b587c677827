"""The pool of pre-started kernels: part of jupyter_kernel_pool.py (which describes the design and its
guarantees), run in that file's namespace after jupyter_kernel_pool_limits.py, whose `_rss` it uses.

KernelPool starts kernels in an empty folder of its own and waits for each to answer, keeps the
pooled kernels' memory within the budget, replaces a pooled kernel that died while waiting, hands
out a claimed kernel moved to the requested folder and environment (one silent execute), and stops
every pooled kernel when the server stops.
"""
import asyncio
import os
import shutil
import string
import tempfile
from collections import deque

_ASSUMED_RSS = 100 << 20  # a kernel's RSS before the first one has been measured
_READY_TIMEOUT = 60.0  # a pooled kernel's start: as long as a start could take
_MOVE_TIMEOUT = 10.0  # the claim's silent execute on a kernel that has already answered
_WATCH_INTERVAL = 2.0  # how often pooled kernels are checked for a death while waiting


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
    def __init__(self, km, env, pre=None):
        self.km = km
        self.env = env  # the launch environment it was started with
        self.pre = pre  # the kernel server_main.py started, when this manager adopts it
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
        # The kernels server_main.py started wait in the folder it made for the pool.
        self.folder = next((k.folder for k in prelaunched().values()), None) or tempfile.mkdtemp(
            prefix="nbtrigger-kernel-pool-")
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
        pre = take_prelaunched(name)
        if pre is not None:  # started beside the server's imports: adopted by this manager's first launch
            km.provisioner = adopting_provisioner(km, kernel_id, pre)
        entry = _Pooled(km, launch_env(os.environ, km.kernel_spec), pre)
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
        if entry.pre is not None:  # it answered, so it has read its connection file: the key leaves the disk
            entry.pre.remove_connection_file()

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
