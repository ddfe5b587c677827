"""The process of nbtrigger's Jupyter server (start-server.sh runs it): starts the kernel pool's first
`python3` kernel, then runs Jupyter Server in this same process.

On a cold container the run waits for the server's start (Python and jupyter_server's imports) and
then for a kernel's start (another Python process importing IPython and ipykernel). The pool
(jupyter_kernel_pool.py) can only start a kernel once the server's loop runs, after its imports, so
the two starts follow each other. Started here, first, the kernel imports beside the server, and
the pool adopts it instead of starting its first kernel: it is the pool's kernel in every way.

The kernel is started exactly as jupyter_client would start the pool's kernel: the argv of ipykernel's
own `python3` kernelspec with this interpreter, a connection file of its own (five free loopback
ports, a random key), the pool's empty folder as its working directory, its own session
(`start_new_session`, so the server interrupts its process group), stdin a closed pipe, and the
environment the server gives its kernels: this one without JUPYTER_TOKEN and JUPYTER_TOKEN_FILE
(jupyter_server_config.py takes them out before any kernel starts), without PYTHONEXECUTABLE, with
JPY_PARENT_PID (this process, which becomes the server). The pool checks the argv, folder and
environment against those of the kernel it would start and adopts the kernel only when they are
equal; otherwise it stops it and starts its own (one warning line in the server's log).

This process is the kernel's parent, so the server reaps it like any kernel it started. A kernel the
pool does not adopt (no pool, the pool disabled) is stopped when the pool's config says so, or when
this process exits, or once NBTRIGGER_KERNEL_PRELAUNCH_ADOPT_SEC (default 120) have passed without
an adoption (a config that never loads the pool). No kernel is started when NBTRIGGER_KERNEL_POOL
gives `python3` no pooled kernel, when kernels run elsewhere (JUPYTER_GATEWAY_URL), or with
NBTRIGGER_KERNEL_PRELAUNCH=0.

Imports only the standard library's light modules: every millisecond here delays both starts.
"""
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import types
import uuid

_HERE = os.path.dirname(os.path.abspath(__file__))
# `python3 server_main.py` puts this folder first on sys.path: take it off, so no file beside this one
# (versions.py, the config files) can shadow a module the server imports.
if sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
    del sys.path[0]

NAME = "python3"  # the kernelspec started here: the pool's default (jupyter_kernel_pool_limits.py)


class Prelaunched:
    """A kernel started beside the server, for the pool to adopt (jupyter_kernel_pool_adopt.py)."""

    def __init__(self, process, argv, env, folder, info, connection_file):
        self.process = process
        self.argv = argv  # with the connection file's path in it
        self.env = env  # the launch environment, without JPY_PARENT_PID (which launch_kernel adds)
        self.folder = folder
        self.info = info  # the connection info: transport, ip, the five ports, key, signature scheme
        self.connection_file = connection_file
        self.adopted = False

    def stop(self):
        """Ends the kernel's process group and removes its connection file (nothing if adopted)."""
        if not self.adopted and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
            self.process.wait()
        self.remove_connection_file()

    def remove_connection_file(self):
        try:
            os.remove(self.connection_file)
            os.rmdir(os.path.dirname(self.connection_file))
        except OSError:
            pass


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _pool_sizes(environ):
    limits = {}
    path = os.path.join(_HERE, "jupyter_kernel_pool_limits.py")
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), limits)
    return limits["parse_pool_sizes"](environ.get("NBTRIGGER_KERNEL_POOL", limits["DEFAULT_POOL"]))


def prelaunch(environ):
    """Starts the pool's first python3 kernel; None when the pool would not hold one."""
    if environ.get("NBTRIGGER_KERNEL_PRELAUNCH") == "0" or environ.get("JUPYTER_GATEWAY_URL"):
        return None
    if _pool_sizes(environ).get(NAME, 0) < 1:
        return None
    folder = tempfile.mkdtemp(prefix="nbtrigger-kernel-pool-")
    private = tempfile.mkdtemp(prefix="nbtrigger-kernel-connection-")  # 0700: the key stays this user's
    connection_file = os.path.join(private, "kernel.json")
    ports = _free_ports(5)
    info = {
        "shell_port": ports[0], "iopub_port": ports[1], "stdin_port": ports[2], "control_port": ports[3],
        "hb_port": ports[4], "ip": "127.0.0.1", "key": str(uuid.uuid4()), "transport": "tcp",
        "signature_scheme": "hmac-sha256", "kernel_name": NAME,
    }
    with open(os.open(connection_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
    env = {k: v for k, v in environ.items() if k not in ("JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE", "PYTHONEXECUTABLE")}
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
    process = subprocess.Popen(argv, env=dict(env, JPY_PARENT_PID=str(os.getpid())), cwd=folder,
                               stdin=subprocess.PIPE, start_new_session=True)
    process.stdin.close()
    return Prelaunched(process, argv, env, folder, info, connection_file)


def main():
    kernel = prelaunch(os.environ)
    registry = types.ModuleType("nbtrigger_prelaunch")
    registry.kernels = {NAME: kernel} if kernel else {}
    sys.modules[registry.__name__] = registry
    if kernel:
        atexit.register(kernel.stop)
        # Whoever takes it from the registry first owns it (dict.pop is atomic): the pool or this timer.
        unclaimed = threading.Timer(float(os.environ.get("NBTRIGGER_KERNEL_PRELAUNCH_ADOPT_SEC", "120")),
                                    lambda: registry.kernels.pop(NAME, None) and kernel.stop())
        unclaimed.daemon = True
        unclaimed.start()
    # As `python3 -m jupyter_server` runs it (jupyter_server/__main__.py), with this process's argv.
    sys.argv[0] = "jupyter-server"
    from jupyter_server.serverapp import launch_new_instance

    launch_new_instance()


if __name__ == "__main__":
    main()
