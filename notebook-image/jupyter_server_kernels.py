"""Kernel handling shared by nbtrigger's Jupyter servers: the image's (jupyter_server_config.py
runs this file) and the private local ones nbtrigger starts (cli/jupyter-server.ts).

A DELETE /api/kernels/{id} asks the kernel to shut down and then waits for its process to exit,
checking every 100 ms (jupyter_client's KernelManager._async_wait), so every run paid up to 100 ms
(50 on average) after its kernel had already gone. nbtrigger waits for that DELETE on every path
(a kernel is never left running), so the server now checks every 5 ms while a kernel shuts down:
a waitpid(WNOHANG) per check, only during a shutdown. The SIGTERM and SIGKILL deadlines
(shutdown_wait_time) are unchanged.

Spec: issue 6 ("write outputs while it shuts down, without ever leaving it running").
"""


def _nbtrigger_prompt_kernel_reaping(interval=0.005):
    try:
        from jupyter_client.manager import KernelManager
    except Exception:  # no jupyter_client: nothing to tune
        return
    original = getattr(KernelManager, "_async_wait", None)
    if original is None or getattr(original, "_nbtrigger_reaping", False):
        return

    async def _async_wait(self, pollinterval=0.1):
        await original(self, pollinterval=min(pollinterval, interval))

    _async_wait._nbtrigger_reaping = True
    KernelManager._async_wait = _async_wait


_nbtrigger_prompt_kernel_reaping()
