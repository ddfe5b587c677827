"""Jupyter Server configuration of the nbtrigger notebook image (Cloud Run).

Read by start-server.sh (``--config``). Everything that varies comes from the environment, so
the same file serves the container and a local check:

- ``JUPYTER_TOKEN`` (or ``JUPYTER_TOKEN_FILE``): required; Cloud Run mounts it from Secret
  Manager. The server refuses to start without one and never prints it (a token that is set,
  not generated, is shown as ``...`` in the startup URL).
- ``PORT``: set by Cloud Run (8080); the server listens on it and nowhere else.
- ``JUPYTER_IP``: ``0.0.0.0`` in the container (Cloud Run reaches it from outside the sandbox).
- ``NBTRIGGER_ROOT_DIR``: the folder the notebooks were copied to, keeping their repo paths.

Spec: docs/deploy.md (Image and build); docs/jupyter-protocol.md (iopub rate limits).
"""
import os
import sys

import jupyter_server

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file


def _token_from_env():
    token = os.environ.get("JUPYTER_TOKEN", "")
    path = os.environ.get("JUPYTER_TOKEN_FILE", "")
    if not token and path:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    return token


_token = _token_from_env()
# Kernels inherit the server's environment: take the token out of it, so no notebook can print it
# (`!env`, os.environ) into its outputs. The server keeps it in its own config only.
os.environ.pop("JUPYTER_TOKEN", None)
os.environ.pop("JUPYTER_TOKEN_FILE", None)
if len(_token) < 16:
    # Never run an open (or trivially guessable) server: Cloud Run would expose it to the invoker.
    sys.exit(
        "nbtrigger: JUPYTER_TOKEN (or JUPYTER_TOKEN_FILE) must hold a token of at least 16 characters;"
        " refusing to start"
    )

if int(jupyter_server.__version__.split(".")[0]) >= 2:
    c.IdentityProvider.token = _token
else:  # Debian's jupyter_server 1.x (used for the local check)
    c.ServerApp.token = _token
c.ServerApp.password = ""

# Where and how to listen.
c.ServerApp.ip = os.environ.get("JUPYTER_IP", "0.0.0.0")
c.ServerApp.port = int(os.environ.get("PORT", "8080"))
c.ServerApp.port_retries = 0  # Cloud Run sends traffic to $PORT only: fail rather than drift
c.ServerApp.open_browser = False
c.ServerApp.allow_remote_access = True  # requests arrive with the *.run.app Host header
c.ServerApp.trust_xheaders = True  # behind Google's front end (X-Forwarded-Proto: https)
c.ServerApp.root_dir = os.environ.get("NBTRIGGER_ROOT_DIR", os.getcwd())

# Fast start and a small surface: no terminals (the image installs no other server extension).
c.ServerApp.terminals_enabled = False

# Outputs are the product: do not drop them (defaults are 1000 msg/s and 1 MB/s).
c.ServerApp.iopub_msg_rate_limit = 1e10
c.ServerApp.iopub_data_rate_limit = 1e10

# A kernel left behind by a function that was killed is culled after an idle hour.
c.MappingKernelManager.cull_idle_timeout = 3600
c.MappingKernelManager.cull_interval = 300
c.MappingKernelManager.cull_connected = False

# Kernel handling shared with the local servers (a prompt DELETE): see that file.
_kernels = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter_server_kernels.py")
with open(_kernels, encoding="utf-8") as _f:
    exec(compile(_f.read(), _kernels, "exec"), {"__name__": "nbtrigger_server_kernels"})

# Pre-started kernels (jupyter_kernel_pool.py): one python3 kernel by default, so a run does not wait
# for a kernel start; server_main.py starts it beside the server's imports. NBTRIGGER_KERNEL_POOL
# overrides it (`python3:0` turns it off).
_pool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter_kernel_pool.py")
_pool_ns = {"__name__": "nbtrigger_kernel_pool", "__file__": _pool}  # it loads its parts from beside itself
with open(_pool, encoding="utf-8") as _f:
    exec(compile(_f.read(), _pool, "exec"), _pool_ns)
_pool_ns["install"](c, os.environ, default=_pool_ns["DEFAULT_POOL"])
