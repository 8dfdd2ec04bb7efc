"""The real app in headless Chromium: `streamlit run` on a free port, driven by Playwright.

Uses Debian's chromium at /usr/bin/chromium (the README's test command installs it); never downloads a
browser. Screenshots go to test-artifacts/e2e/ so a person can look at them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout:.0f} s")


@contextlib.contextmanager
def serve_dashboard(log_name: str = "streamlit.log") -> Iterator[str]:
    """Run the dashboard with a real `streamlit run` on a free port; yield its URL, stop it afterwards."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / log_name).open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard" / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="package")
def app_url() -> Iterator[str]:
    """URL of the dashboard served by a real `streamlit run` for the browser tests."""
    with serve_dashboard() as url:
        yield url


@pytest.fixture(scope="package")
def browser():
    """One headless Debian Chromium for the browser tests.

    Package scope, not session: the sync API keeps an event loop running in this thread while it is open,
    which would break every later test that runs asyncio (kaleido's image export, another Playwright).
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run the README's test command (make test), which installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser page at a desktop size."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def wait_idle(page, settle_ms: int = 800) -> None:
    """Wait until the page has drawn its content, no script is running and every plotly figure is drawn."""
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stElementContainer"]', timeout=90_000)
    idle = """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && !document.querySelector('[data-testid="stSpinner"]')"""
    for _ in range(2):
        page.wait_for_function(idle, timeout=90_000)
        page.wait_for_timeout(settle_ms)
    page.wait_for_function(idle, timeout=90_000)
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                 .every(chart => chart.querySelector('.main-svg'))""",
        timeout=60_000,
    )


def upload_sample_rows(page, url: str, folder: Path, name: str, patients: int) -> None:
    """Upload the first `patients` rows of the sample cohort as `name` on the Data page.

    Returns once the page shows the file's name: the upload's rerun may start after the page first looks
    idle on a busy machine.
    """
    from ovcf_core import paths

    lines = paths.SAMPLE_COHORT.read_text(encoding="utf-8").splitlines()
    upload = folder / name
    upload.write_text("\n".join(lines[: patients + 1]) + "\n", encoding="utf-8")
    page.goto(f"{url}/data")
    wait_idle(page)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(upload))
    wait_idle(page, settle_ms=1500)
    page.get_by_text(name).first.wait_for(timeout=60_000)
    wait_idle(page)
