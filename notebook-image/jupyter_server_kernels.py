"""Kernel handling shared by nbtrigger's Jupyter servers: the image's (jupyter_server_config.py
runs this file) and the private local ones nbtrigger starts (cli/local/jupyter-server.ts).

A DELETE /api/kernels/{id} asks the kernel to shut down and then waits for its process to exit,
checking every 100 ms (jupyter_client's KernelManager._async_wait): up to 100 ms (50 on average)
after the kernel has already gone. nbtrigger waits for that DELETE on every path (a kernel is
never left running), so the server checks every 5 ms while a kernel shuts down: a
waitpid(WNOHANG) per check, only during a shutdown. The SIGTERM and SIGKILL deadlines
(shutdown_wait_time) are jupyter_client's.
"""


# KernelManager._async_wait is jupyter_client's private method, measured on the version the image
# ships (notebook-image/versions.txt; test/unit/notebook-image/versions.test.ts keeps this equal to
# it). On any other version nothing is changed and the server's log says so in one line.
_NBTRIGGER_TESTED_JUPYTER_CLIENT = "7.4.9"


def _nbtrigger_prompt_kernel_reaping(interval=0.005):
    try:
        import jupyter_client
        from jupyter_client.manager import KernelManager
    except Exception:  # no jupyter_client: nothing to tune
        return
    original = getattr(KernelManager, "_async_wait", None)
    if original is None or getattr(original, "_nbtrigger_reaping", False):
        return
    version = getattr(jupyter_client, "__version__", "unknown")
    if version != _NBTRIGGER_TESTED_JUPYTER_CLIENT:
        import sys
        sys.stderr.write(f"nbtrigger server config: prompt kernel reaping is off: jupyter_client {version} "
                         f"is not the tested {_NBTRIGGER_TESTED_JUPYTER_CLIENT}\n")
        return

    async def _async_wait(self, pollinterval=0.1):
        await original(self, pollinterval=min(pollinterval, interval))

    _async_wait._nbtrigger_reaping = True
    KernelManager._async_wait = _async_wait


_nbtrigger_prompt_kernel_reaping()
