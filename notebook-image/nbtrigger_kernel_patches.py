"""nbtrigger's patches to ipykernel and jupyter_client internals, for the kernels nbtrigger runs.

Loaded by ipython_kernel_config.py (beside which it is installed: /etc/ipython in the image, the
private IPYTHONDIR of the local servers), which calls `apply()` once per kernel process.

Each patch replaces one private method, and applies only on the exact versions it was measured on
(`TESTED`, equal to notebook-image/versions.txt: test/unit/notebook-image/versions.test.ts). On any
other version it does nothing and says so in one line on the kernel's stderr (the server's log): the
plain fallback is ipykernel as shipped. test/integration/notebook-image/kernel-config.test.ts shows
each race a patch fixes, with and without it, and fails when the versions move.

Why each exists: docs/kernel.md; the two shutdown-race fixes as upstream patches, with their
reproductions: notebook-image/upstream/.
"""
import sys

TESTED = {"ipykernel": "6.17.0", "jupyter_client": "7.4.9"}


def _tested(module, patch):
    version = getattr(module, "__version__", "unknown")
    if version == TESTED[module.__name__]:
        return True
    sys.stderr.write(f"nbtrigger kernel config: {patch} is off: {module.__name__} {version} is not the tested "
                     f"{TESTED[module.__name__]}\n")
    return False


def _replaceable(cls, name, module, patch):
    """`cls.name` as shipped, to be replaced by `patch`; None when it is replaced already (the config
    loaded twice) or `module` is not the tested version (which `_tested` reports)."""
    original = getattr(cls, name)
    if getattr(original, "_nbtrigger", False) or not _tested(module, patch):
        return None
    return original


def _replace(cls, name, method):
    method._nbtrigger = True
    setattr(cls, name, method)


# Large outputs go out as several iopub messages of at most 1 MiB of text each, not one message of
# everything a cell printed since the last flush (a loop printing 50 MB would otherwise be one
# 50 MB message, held whole by the Jupyter server, the WebSocket and nbtrigger). Front ends and
# nbtrigger merge consecutive stream messages, so the notebook is the same.
def split_large_streams(limit=1 << 20):
    try:
        import jupyter_client
        from jupyter_client.session import Session
    except Exception:  # not a kernel process with jupyter_client: nothing to do
        return
    original = _replaceable(Session, "send", jupyter_client, "stream splitting")
    if original is None:
        return

    def send(self, stream, msg_or_type, content=None, *args, **kwargs):
        if msg_or_type == "stream" and isinstance(content, dict):
            text = content.get("text")
            if isinstance(text, str) and len(text) > limit:
                sent = None
                for i in range(0, len(text), limit):
                    sent = original(self, stream, msg_or_type, dict(content, text=text[i:i + limit]), *args, **kwargs)
                return sent
        return original(self, stream, msg_or_type, content, *args, **kwargs)

    _replace(Session, "send", send)



# A kernel asked to shut down must exit at once, not after the server's 2.5 s SIGTERM. ipykernel
# 6.x stops its IOPub thread from an atexit hook while the control thread, done with the
# shutdown_request, is still publishing (its flush of stdout, its final `idle` status). Two races
# follow, both seen in faulthandler dumps of hung kernels (Debian's ipykernel 6.17):
# 1. the flush hands an event to the IOPub thread and waits up to 10 s for it; when the thread's
#    loop stops first, nothing runs the event (3-10 DELETEs in 24 hung; with history in memory,
#    above, the timing is tight);
# 2. the control thread saw the IOPub thread alive and wakes it through a zmq PUSH socket whose
#    other end the stopping thread has just closed: a PUSH with no peer blocks in send() for ever,
#    and the main thread waits in control_thread.join() until the server's SIGTERM (1 DELETE in
#    about 100 with 4 runs at once).
# So whatever was scheduled on the IOPub thread when it stops is run, in it and again after it
# ended, so no waiter is left behind; and the wake-up is sent without blocking: a pipe that is
# full already holds wake-ups that will run the event, and one with no peer means the thread is
# stopping, whose stop() (or this thread, once it has ended) runs what is left.
# The same fix as an upstream patch, with a reproduction of each race: notebook-image/upstream/ and
# docs/kernel.md.
def drain_iopub_at_stop():
    try:
        import ipykernel
        import zmq
        from ipykernel.iostream import IOPubThread
    except Exception:  # not an ipykernel process: nothing to do
        return
    original = _replaceable(IOPubThread, "stop", ipykernel, "the IOPub shutdown fix")
    if original is None:
        return

    def drain(thread):
        events = getattr(thread, "_events", None)
        while events:
            try:
                events.popleft()()
            except Exception:
                pass

    def stop(self):
        if self.thread.is_alive():
            self.io_loop.add_callback(drain, self)
        original(self)
        drain(self)

    def schedule(self, f):
        if self.thread.is_alive():
            self._events.append(f)
            try:
                self._event_pipe.send(b"", zmq.NOBLOCK)
            except zmq.ZMQError:  # full (wake-ups pending), or no peer / closed: the thread is stopping
                if not self.thread.is_alive():
                    drain(self)
        else:
            f()

    _replace(IOPubThread, "stop", stop)
    _replace(IOPubThread, "schedule", schedule)



# A kernel starts with about 80,000 objects of its own (IPython, ipykernel, zmq, tornado, jedi...)
# that live until it exits, and every full garbage collection walks them all: IPython's reset at
# exit (a gc.collect), the interpreter's own collections as it tears down, and those a notebook's
# cells trigger. Moving them to the permanent generation once, as the kernel starts serving
# (gc.freeze, O(1)), leaves the collector only the notebook's own objects. Nothing a notebook
# creates is frozen, so its objects are collected and finalized exactly as before (files flushed,
# __del__ run, TemporaryDirectory removed, atexit handlers run: see
# test/integration/notebook-image/kernel-exit.test.ts). Measured on Debian's ipykernel 6.17: a
# kernel asked to shut down exits 12-15 ms after the request instead of 71-98 ms.
# gc.get_objects() no longer lists the kernel's own start-up objects; gc.unfreeze() restores them.
# Opt out with NBTRIGGER_KERNEL_GC_FREEZE=0.
def freeze_startup_objects():
    import os
    if os.environ.get("NBTRIGGER_KERNEL_GC_FREEZE", "1") == "0":
        return
    try:
        import gc
        import ipykernel
        from ipykernel.kernelapp import IPKernelApp
    except Exception:  # not an ipykernel process: nothing to do
        return
    original = _replaceable(IPKernelApp, "start", ipykernel, "the start-up gc.freeze")
    if original is None:
        return

    def start(self, *args, **kwargs):
        gc.freeze()
        return original(self, *args, **kwargs)

    _replace(IPKernelApp, "start", start)


# A kernel's iopub is a ZeroMQ PUB socket: when the server reads it more slowly than the kernel
# publishes (a busy or paused server, thousands of flushed prints), ZeroMQ drops whatever does not
# fit in the queue towards the server (its high-water mark, 1000 messages by default), a cell's
# outputs and its `idle` status among them, and nothing tells anyone. Here that queue is unbounded
# (SNDHWM 0): a slow server delays output and loses none, and the kernel holds what the server has
# not read yet (at most what its cells printed; ZeroMQ's own default before version 3). The runner
# copes with a lost `idle` from any other kernel (docs/jupyter-protocol.md, Lost iopub messages).
# NBTRIGGER_KERNEL_IOPUB_HWM=N bounds the queue at N messages again.
def keep_iopub_messages():
    import os
    try:
        import ipykernel
        import zmq
        from ipykernel.kernelapp import IPKernelApp
    except Exception:  # not an ipykernel process: nothing to do
        return
    original = _replaceable(IPKernelApp, "_bind_socket", ipykernel, "the unbounded iopub queue")
    if original is None:
        return
    hwm = int(os.environ.get("NBTRIGGER_KERNEL_IOPUB_HWM", "0"))

    def _bind_socket(self, s, port):
        # Set before the bind: a high-water mark applies to the connections made after it is set.
        if s.socket_type == zmq.PUB:
            s.sndhwm = hwm
        return original(self, s, port)

    _replace(IPKernelApp, "_bind_socket", _bind_socket)


def apply():
    """Applies every patch (each checks its versions, and is applied at most once per process)."""
    split_large_streams()
    drain_iopub_at_stop()
    freeze_startup_objects()
    keep_iopub_messages()
