# Reproduces ipykernel 6's second shutdown race (docs/kernel.md): a publish from another thread
# after the stopping IOPub thread closed its end of the event pipe blocks for ever in zmq's send()
# (a PUSH socket with no peer), so the kernel's main thread waits for the control thread until the
# server's SIGTERM.
# Usage: python3 repro_blocked_wakeup.py plain             -> "blocked" on ipykernel 6.17.0 as shipped,
#                                                              "ran" with ipykernel-iostream-shutdown.diff
#        python3 repro_blocked_wakeup.py with-config CONFIG -> "ran" (CONFIG: ipython_kernel_config.py)
import os, sys, threading, time, zmq
if sys.argv[1] == "with-config":
    from traitlets.config import Config
    config_ns = {"c": Config(), "get_config": Config, "__file__": sys.argv[2]}
    exec(compile(open(sys.argv[2]).read(), sys.argv[2], "exec"), config_ns)
from ipykernel.iostream import IOPubThread
closed, hold = threading.Event(), threading.Event()
def thread_main(self):  # ipykernel's, then held alive after its end of the event pipe is closed
    self.io_loop.start()
    self.io_loop.close(all_fds=True)
    closed.set()
    hold.wait()
IOPubThread._thread_main = thread_main
t = IOPubThread(zmq.Context().socket(zmq.PUB))
t.start()
ran, first, go = threading.Event(), threading.Event(), threading.Event()
def control():  # publishes while the thread runs (its pipe connects), then again as the thread stops
    t.schedule(first.set)
    go.wait(10)
    for _ in range(50):  # until zmq has seen the closed end (then a plain send blocks)
        t.schedule(lambda: None)
        time.sleep(0.01)
    t.schedule(ran.set)
waker = threading.Thread(target=control, daemon=True)
waker.start()
first.wait(10)
t.io_loop.add_callback(t.io_loop.stop)
closed.wait(10)
go.set()
waker.join(4)
if waker.is_alive():
    print("blocked", flush=True)
    os._exit(0)
hold.set()
t.stop()
print("ran" if ran.is_set() else "lost", flush=True)
os._exit(0)
