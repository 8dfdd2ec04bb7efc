"""`ovcf dashboard`: start the Streamlit app (extra arguments go to `streamlit run`)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=None, help="port to serve on (default 8501)")
    parser.add_argument("--headless", action="store_true", help="do not open a browser")


def run(args: argparse.Namespace) -> int:
    app = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(app)]
    if args.port:
        command += ["--server.port", str(args.port)]
    if args.headless:
        command += ["--server.headless", "true"]
    return subprocess.call(command, cwd=app.parents[1])
