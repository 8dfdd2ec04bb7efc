"""The Scans page in a real Chromium: a box dragged on the image becomes an ROI (plotly selection events)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, wait_idle

pytestmark = pytest.mark.e2e


def test_a_box_dragged_on_the_image_becomes_a_drawn_and_labelled_roi(app_url, page):
    page.set_viewport_size({"width": 1400, "height": 1800})
    page.goto(f"{app_url}/scans")
    page.get_by_text("Synthetic phantom").first.wait_for(timeout=60_000)
    wait_idle(page)
    label = page.get_by_role("textbox", name="Label").first
    label.fill("DRAWN")
    label.press("Enter")
    wait_idle(page)
    drag = page.locator(".js-plotly-plot .nsewdrag").first
    drag.wait_for(timeout=30_000)
    box = drag.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.35)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.55, steps=8)
    page.mouse.up()
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some("
        "b => b.innerText.includes('Add the drawn ROI') && !b.disabled)",
        timeout=30_000,
    )
    page.get_by_role("button", name="Add the drawn ROI").click()
    page.locator(".js-plotly-plot .legendtext", has_text="DRAWN").wait_for(timeout=30_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(ARTIFACTS / "scans-drawn-roi.png"), full_page=True)
