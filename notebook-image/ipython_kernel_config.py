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


# nbtrigger's patches to ipykernel's and jupyter_client's internals live in one module beside this
# file (nbtrigger_kernel_patches.py: each patch, the versions it targets, why it exists). Without that
# file the kernel runs as shipped, and says so.
def _nbtrigger_apply_kernel_patches():
    import importlib.util
    import os
    import sys
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nbtrigger_kernel_patches.py")
    if not os.path.isfile(path):
        sys.stderr.write(f"nbtrigger kernel config: no patches: {path} is missing\n")
        return
    spec = importlib.util.spec_from_file_location("nbtrigger_kernel_patches", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.apply()


_nbtrigger_apply_kernel_patches()
