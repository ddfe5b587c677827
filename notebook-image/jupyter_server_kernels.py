"""Kernel handling shared by nbtrigger's Jupyter servers: the image's (jupyter_server_config.py
runs this file) and the private local ones nbtrigger starts (cli/local/jupyter-server.ts).

A DELETE /api/kernels/{id} asks the kernel to shut down and then waits for its process to exit,
checking every 100 ms (jupyter_client's KernelManager._async_wait): up to 100 ms (50 on average)
after the kernel has already gone. nbtrigger waits for that DELETE on every path (a kernel is
never left running), so the server checks every 5 ms while a kernel shuts down: a
waitpid(WNOHANG) per check, only during a shutdown. The SIGTERM and SIGKILL deadlines
(shutdown_wait_time) are jupyter_client's.

The `python3` kernelspec is found without importing IPython, ipykernel or debugpy into the server.
For that name jupyter_client imports `ipykernel.kernelspec` (for ipykernel's own spec folder and its
kernel.json, even when a python3 kernel.json is installed), which imports IPython and debugpy; and it
imports IPython to add the IPython folder's `kernels` to the kernelspec folders. That is ≈0.35 s of
the server's first kernel start on a 2-core machine (and their memory) in a process that never runs
Python code. The spec is the one ipykernel.kernelspec.get_kernel_dict() makes; its
`metadata.debugger` (read by JupyterLab's debugger) says whether debugpy is installed, without
importing it.
"""
import importlib.util as _nbtrigger_importlib_util
import os as _nbtrigger_os
import sys as _nbtrigger_sys


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


def _nbtrigger_native_kernel_resources():
    """ipykernel's `resources` folder (ipykernel.kernelspec.RESOURCES), found without importing ipykernel."""
    spec = _nbtrigger_importlib_util.find_spec("ipykernel")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = _nbtrigger_os.path.join(list(spec.submodule_search_locations)[0], "resources")
    return path if _nbtrigger_os.path.isdir(path) else None


def _nbtrigger_native_kernel_dict():
    """ipykernel.kernelspec.get_kernel_dict() of ipykernel 6, without importing it."""
    return {
        "argv": [_nbtrigger_sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python %i (ipykernel)" % _nbtrigger_sys.version_info[0],
        "language": "python",
        "metadata": {"debugger": _nbtrigger_importlib_util.find_spec("debugpy") is not None},
    }


def _nbtrigger_lazy_native_kernelspec():
    """KernelSpecManager finds ipykernel's own python3 spec without importing ipykernel (version-gated)."""
    try:
        import jupyter_client
        from jupyter_client import kernelspec as ks
    except Exception:
        return
    manager = ks.KernelSpecManager
    if getattr(manager, "_nbtrigger_lazy_native", False):
        return
    methods = ("_kernel_dirs_default", "_find_spec_directory", "_get_kernel_spec_by_name", "find_kernel_specs")
    if getattr(jupyter_client, "__version__", "unknown") != _NBTRIGGER_TESTED_JUPYTER_CLIENT or not all(
        hasattr(manager, a) for a in methods
    ):
        return  # the reaping patch above already said the version is not the tested one
    resources = _nbtrigger_native_kernel_resources()
    if resources is None:
        return  # no ipykernel: jupyter_client's own lookup reports it
    native = ks.NATIVE_KERNEL_NAME
    find_dir, by_name = manager._find_spec_directory, manager._get_kernel_spec_by_name
    find_all = manager.find_kernel_specs

    def _find_spec_directory(self, kernel_name):
        if kernel_name != native:
            return find_dir(self, kernel_name)
        for kernel_dir in [kd for kd in self.kernel_dirs if _nbtrigger_os.path.isdir(kd)]:
            for f in _nbtrigger_os.listdir(kernel_dir):
                path = _nbtrigger_os.path.join(kernel_dir, f)
                if f.lower() == kernel_name and ks._is_kernel_dir(path):
                    return path
        return resources

    def _get_kernel_spec_by_name(self, kernel_name, resource_dir):
        if kernel_name != native:
            return by_name(self, kernel_name, resource_dir)
        if resource_dir == resources:
            kspec = self.kernel_spec_class(resource_dir=resource_dir, **_nbtrigger_native_kernel_dict())
        else:  # an installed python3 kernel.json (Debian's python3-ipykernel has one): read as jupyter_client does
            kspec = self.kernel_spec_class.from_resource_dir(resource_dir)
        if not ks.KPF.instance(parent=self.parent).is_provisioner_available(kspec):
            raise ks.NoSuchKernel(kernel_name)
        return kspec

    def find_kernel_specs(self):
        ensure = self.ensure_native_kernel
        self.ensure_native_kernel = False  # jupyter_client would import ipykernel to add it
        try:
            d = find_all(self)
        finally:
            self.ensure_native_kernel = ensure
        if ensure and native not in d and (not self.allowed_kernelspecs or native in self.allowed_kernelspecs):
            d[native] = resources
        return d

    def _kernel_dirs_default(self):
        # jupyter_client imports IPython (its whole package) for get_ipython_dir(): IPython's own rule,
        # $IPYTHONDIR else ~/.ipython (IPython 1's ~/.config/ipython is not looked at).
        ipython_dir = _nbtrigger_os.environ.get("IPYTHONDIR") or "~/.ipython"
        ipython_dir = _nbtrigger_os.path.normpath(_nbtrigger_os.path.expanduser(ipython_dir))
        return ks.jupyter_path("kernels") + [_nbtrigger_os.path.join(ipython_dir, "kernels")]

    manager._kernel_dirs_default = _kernel_dirs_default
    manager._find_spec_directory = _find_spec_directory
    manager._get_kernel_spec_by_name = _get_kernel_spec_by_name
    manager.find_kernel_specs = find_kernel_specs
    manager._nbtrigger_lazy_native = True


_nbtrigger_lazy_native_kernelspec()
