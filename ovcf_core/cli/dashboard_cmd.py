"""`ovcf dashboard`: start the Streamlit app (`streamlit run dashboard/app.py`) on a port."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def _port(text: str) -> int:
    """Parse a TCP port number, 1 to 65535 (an argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}' must be from 1 to 65535")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the port and whether to open a browser."""
    parser.add_argument("--port", type=_port, default=None, help="port to serve on (default 8501)")
    parser.add_argument("--headless", action="store_true", help="do not open a browser")


def run(args: argparse.Namespace) -> int:
    """Run `streamlit run dashboard/app.py` from the repository root; return Streamlit's exit code.

    On POSIX the process is replaced by Streamlit's (exec), so stopping `ovcf dashboard` stops the server;
    as a child process it was left running when `ovcf` alone was terminated.
    """
    app = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(app)]
    if args.port:
        command += ["--server.port", str(args.port)]
    if args.headless:
        command += ["--server.headless", "true"]
    if os.name == "posix":  # become Streamlit: a stop signal (docker stop, systemd, Ctrl-C) reaches it
        os.chdir(app.parents[1])
        sys.stdout.flush()
        os.execv(sys.executable, command)
    return subprocess.call(command, cwd=app.parents[1])  # elsewhere: wait for it as a child
