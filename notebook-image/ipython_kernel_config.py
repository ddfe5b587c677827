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
