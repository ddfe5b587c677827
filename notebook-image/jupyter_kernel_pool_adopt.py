"""Adopting the kernel server_main.py started beside the server's imports: part of jupyter_kernel_pool.py
(which describes the pool), run in that file's namespace after jupyter_kernel_pool_kernels.py.

server_main.py leaves its kernel in the module `nbtrigger_prelaunch` (`kernels`: kernelspec name ->
Prelaunched). The pool's first start for that kernelspec takes it: its kernel manager gets a
provisioner whose first launch adopts the running process instead of starting one, after the
kernel manager has loaded the kernel's connection info (ports, key). The adoption is checked: the
command jupyter_client would run (but for the connection file's path), the working directory and
the environment must equal the kernel's, else the kernel is stopped and one is started as usual.
After that first launch the provisioner is jupyter_client's LocalProvisioner (a restart starts a
new process).
"""
import os
import sys

def prelaunched():
    """server_main.py's registry (kernelspec name -> Prelaunched); empty when it started none."""
    return getattr(sys.modules.get("nbtrigger_prelaunch"), "kernels", None) or {}


def take_prelaunched(name):
    """The kernel server_main.py started for kernelspec `name`, once; None when there is none."""
    return prelaunched().pop(name, None)


def drop_prelaunched(why, keep=()):
    """Stops the kernels server_main.py started that the pool will not adopt (all but those in `keep`)."""
    kernels = prelaunched()
    for name in [n for n in kernels if n not in keep]:
        pre = kernels.pop(name, None)  # None: server_main.py's own timer took it first
        if pre is not None:
            print(f"nbtrigger: the {name} kernel started beside the server is stopped: {why}", file=sys.stderr)
            pre.stop()


def _without(argv, path):
    return [None if a == path else a for a in argv]


def mismatch(pre, cmd, connection_file, kwargs):
    """Why the started kernel is not the one jupyter_client would start now ("" when it is)."""
    if _without(cmd, connection_file) != _without(pre.argv, pre.connection_file):
        return "its command differs from the kernelspec's"
    if os.path.abspath(kwargs.get("cwd") or "") != os.path.abspath(pre.folder):
        return "its working directory differs"
    env = dict(kwargs.get("env") or {})
    env.pop("JPY_PARENT_PID", None)
    if env != pre.env:
        keys = sorted(k for k in set(env) | set(pre.env) if env.get(k) != pre.env.get(k))
        return f"its environment differs in {', '.join(keys[:8])}"  # names only: values may be secrets
    if pre.process.poll() is not None:
        return f"it exited (code {pre.process.returncode})"
    return ""


def adopting_provisioner(km, kernel_id, pre):
    """A LocalProvisioner for `km` whose first launch adopts `pre`'s process."""
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    class AdoptingProvisioner(LocalProvisioner):
        async def pre_launch(self, **kwargs):
            if self._nbtrigger_pre is not None:
                # The kernel listens on its own ports with its own key: the manager connects to those.
                self.parent.cache_ports = False
                self.parent.load_connection_info(self._nbtrigger_pre.info)
            return await super().pre_launch(**kwargs)

        async def launch_kernel(self, cmd, **kwargs):
            pre, self._nbtrigger_pre = self._nbtrigger_pre, None
            if pre is None:
                return await super().launch_kernel(cmd, **kwargs)
            why = mismatch(pre, cmd, self.parent.connection_file, kwargs)
            if why:
                self.log.warning("kernel pool: the kernel started beside the server is not adopted: %s", why)
                pre.stop()
                return await super().launch_kernel(cmd, **kwargs)
            pre.adopted = True
            self.process = pre.process
            self.pid = pre.process.pid
            self.pgid = pre.process.pid  # its own session (start_new_session), as launch_kernel starts one
            self.log.info("kernel pool: adopted the %s kernel started beside the server (pid %d)",
                          pre.info["kernel_name"], self.pid)
            return self.connection_info

    provisioner = AdoptingProvisioner(kernel_id=kernel_id, kernel_spec=km.kernel_spec, parent=km)
    provisioner._nbtrigger_pre = pre
    return provisioner
