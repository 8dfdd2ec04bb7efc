"""The Scans page in a real Chromium: a box dragged on the image becomes an ROI (plotly selection events)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    port = _free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
        "--server.headless", "true", "--server.port", str(port), "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.5)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=20)


def test_a_box_dragged_on_the_image_becomes_a_drawn_and_labelled_roi(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(f"{app_url}/scans", timeout=60_000)
        page.get_by_text("Synthetic phantom").first.wait_for(timeout=60_000)
        label = page.get_by_role("textbox", name="Label").first
        label.fill("DRAWN")
        label.press("Enter")
        drag = page.locator(".js-plotly-plot .nsewdrag").first
        drag.wait_for(timeout=30_000)
        box = drag.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.35)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.55, steps=8)
        page.mouse.up()
        add = page.get_by_role("button", name="Add the drawn ROI")
        page.wait_for_function(
            "() => [...document.querySelectorAll('button')].some("
            "b => b.innerText.includes('Add the drawn ROI') && !b.disabled)",
            timeout=30_000,
        )
        add.click()
        page.locator(".js-plotly-plot .legendtext", has_text="DRAWN").wait_for(timeout=30_000)
        browser.close()
