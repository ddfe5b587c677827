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

The pool is four files, copied side by side into the image (notebook-image/Dockerfile) and read from
notebook-image/ by the local servers. This one is loaded by path, with `__file__` set to it; it runs
the other three in its own namespace, so the four read as one module: jupyter_kernel_pool_limits.py
(how many kernels the pool may hold), jupyter_kernel_pool_kernels.py (the pool: starting, watching,
claiming and moving kernels), jupyter_kernel_pool_adopt.py (adopting the kernel server_main.py
started beside the server's imports), then, below, the hook into the server's kernel manager.
"""
import asyncio
import os
import sys

_SERVER_MAJORS = ("1", "2")
_CLIENT_MAJORS = ("7", "8")

_LIMITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter_kernel_pool_limits.py")
_KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter_kernel_pool_kernels.py")
_ADOPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter_kernel_pool_adopt.py")
for _part in (_LIMITS, _KERNELS, _ADOPT):
    with open(_part, encoding="utf-8") as _f:
        exec(compile(_f.read(), _part, "exec"), globals())


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
        drop_prelaunched("no kernel pool")
        return
    if "kernel_manager_class" in c.ServerApp:
        refused = "ServerApp.kernel_manager_class is configured"
    else:
        unknown = _versions_known()
        if unknown is None:  # not a Jupyter server
            drop_prelaunched("no kernel pool")
            return
        refused = unknown and f"{unknown} is not a version it targets"
    if refused:
        print(f"nbtrigger: kernel pool disabled: {refused}", file=sys.stderr)
        drop_prelaunched("the kernel pool is disabled")
        return
    drop_prelaunched("the pool holds no kernel of its kernelspec", keep=sizes)
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
