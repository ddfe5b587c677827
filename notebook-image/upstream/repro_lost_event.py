# Reproduces ipykernel 6's first shutdown race (docs/kernel.md): an event scheduled on the IOPub
# thread whose wake-up lost the race with IOPubThread.stop() is never run, so whoever waits for it
# (the control thread's flush, for up to 10 s) waits in vain.
# Usage: python3 repro_lost_event.py plain             -> "lost" on ipykernel 6.17.0 as shipped,
#                                                          "ran" with ipykernel-iostream-shutdown.diff
#        python3 repro_lost_event.py with-config CONFIG -> "ran" (CONFIG: ipython_kernel_config.py)
import sys, threading, zmq
if sys.argv[1] == "with-config":
    from traitlets.config import Config
    config_ns = {"c": Config(), "get_config": Config, "__file__": sys.argv[2]}
    exec(compile(open(sys.argv[2]).read(), sys.argv[2], "exec"), config_ns)
from ipykernel.iostream import IOPubThread
ctx = zmq.Context()
t = IOPubThread(ctx.socket(zmq.PUB))
t.start()
ran = threading.Event()
t._events.append(ran.set)  # scheduled; its wake-up lost the race with stop()
t.stop()
print("ran" if ran.is_set() else "lost")
