"""Helpers shared by the benchmark scripts in this folder (imported as `benchlib`)."""
import os
import shutil
import socket
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pinned(cpu, argv):
    """argv pinned to one core with taskset, when there is more than one core."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu)] + argv
    return argv


def wait_port(port, tries=200, pause=0.05):
    """Waits until something accepts connections on 127.0.0.1:port."""
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(pause)
    raise RuntimeError(f"nothing listens on port {port}")
