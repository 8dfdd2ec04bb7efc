"""Start-and-stop helpers for the tests that run a real dashboard server (browser tests, the demo's command).

One free port, one wait for Streamlit's health check, one way to stop a server: shared so that every such
test waits and cleans up the same way.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> bytes:
    """Wait until the server at `url` answers its health check (`/_stcore/health`); return the answer.

    Raises RuntimeError when `process` exits first, TimeoutError when no answer comes within `timeout` s.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return response.read()
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the server did not answer on {url} within {timeout:.0f} s")


@contextlib.contextmanager
def stopping(process: subprocess.Popen, grace: float) -> Iterator[subprocess.Popen]:
    """Yield `process`; afterwards, whatever happened, terminate it (kill it if alive after `grace` s)."""
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
