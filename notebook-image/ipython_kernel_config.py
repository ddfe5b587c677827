# Kernel settings for the kernels nbtrigger runs: read by every IPython kernel the server starts
# (the image installs it as /etc/ipython/ipython_kernel_config.py; nbtrigger's private local
# servers put it in their IPYTHONDIR). `c` is IPython's config object.

# nbtrigger sends every execute_request at once (pipelined). After an error the kernel aborts the
# requests queued behind it; one that reaches the kernel just after that abort window would run.
# Half a second of window closes that gap (it costs time only once a cell has already failed).
c.IPythonKernel.stop_on_error_timeout = 0.5

# History in memory, as nbclient launches its kernels: no SQLite history file shared (and locked)
# by concurrent kernels, nothing left on disk by a run.
c.HistoryManager.hist_file = ":memory:"


# Large outputs go out as several iopub messages of at most 1 MiB of text each, not one message of
# everything a cell printed since the last flush (a loop printing 50 MB would otherwise be one
# 50 MB message, held whole by the Jupyter server, the WebSocket and nbtrigger). Front ends and
# nbtrigger merge consecutive stream messages, so the notebook is the same.
def _nbtrigger_split_large_streams(limit=1 << 20):
    try:
        from jupyter_client.session import Session
    except Exception:  # not a kernel process with jupyter_client: nothing to do
        return
    if getattr(Session.send, "_nbtrigger_split", False):
        return
    original = Session.send

    def send(self, stream, msg_or_type, content=None, *args, **kwargs):
        if msg_or_type == "stream" and isinstance(content, dict):
            text = content.get("text")
            if isinstance(text, str) and len(text) > limit:
                sent = None
                for i in range(0, len(text), limit):
                    sent = original(self, stream, msg_or_type, dict(content, text=text[i:i + limit]), *args, **kwargs)
                return sent
        return original(self, stream, msg_or_type, content, *args, **kwargs)

    send._nbtrigger_split = True
    Session.send = send


_nbtrigger_split_large_streams()
