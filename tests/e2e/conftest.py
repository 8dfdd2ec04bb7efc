"""The real app in headless Chromium: `streamlit run` on a free port, driven by Playwright.

Uses Debian's chromium at /usr/bin/chromium (the README's test command installs it); never downloads a
browser. Screenshots go to test-artifacts/e2e/ so a person can look at them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, stopping, wait_healthy

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


@contextlib.contextmanager
def serve_dashboard(log_name: str = "streamlit.log") -> Iterator[str]:
    """Run the dashboard with a real `streamlit run` on a free port; yield its URL, stop it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / log_name).open("w") as log:
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
        with stopping(process, grace=15):
            wait_healthy(url, process)
            yield url


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

    Returns once the page says every page analyses the file: the uploader shows the file's name at once,
    but the upload's rerun (and its second rerun after the cohort is replaced) may start after the page
    first looks idle on a busy machine. The file goes to the cohort uploader picked by its label: taking
    the page's first file input once put it into the project loader below ("text/csv files are not
    allowed", seen in a kept screenshot), which explains the earlier misses on CI. Should the page still
    show no result, the Data page is opened again and the file uploaded once more, what the page showed
    kept in test-artifacts/e2e; a second miss fails, with the page's text.
    """
    from ovcf_core import paths

    lines = paths.SAMPLE_COHORT.read_text(encoding="utf-8").splitlines()
    upload = folder / name
    upload.write_text("\n".join(lines[: patients + 1]) + "\n", encoding="utf-8")
    for attempt in (1, 2):
        page.goto(f"{url}/data")
        wait_idle(page)
        # by its label: the Data page has two uploaders, and the project loader's (zip only) was once taken
        cohort = page.locator('[data-testid="stFileUploader"]', has_text="Cohort table (CSV or XLSX)")
        cohort.locator('input[type="file"]').set_input_files(str(upload))
        try:
            page.get_by_text(f"Every page now analyses {name}").first.wait_for(timeout=60_000)
        except Exception:  # keep what the page shows instead
            page.screenshot(path=str(ARTIFACTS / f"upload-{name}-not-taken-{attempt}.png"), full_page=True)
            shown = page.inner_text('[data-testid="stMain"]')
            (ARTIFACTS / f"upload-{name}-not-taken-{attempt}.txt").write_text(shown, encoding="utf-8")
            if attempt == 2:
                raise AssertionError(
                    f"{name}: the upload was not taken twice; the page shows:\n{shown[-3000:]}"
                ) from None
            continue
        wait_idle(page)
        return
