"""The Scans page in a real Chromium: an ROI added under a label that exists is asked about, never
replaced silently; keeping both adds it under a free label, and the change is listed and undone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, wait_idle

pytestmark = pytest.mark.e2e


def _legend(page) -> list[str]:
    texts = page.locator(".js-plotly-plot .legendtext").evaluate_all("nodes => nodes.map(n => n.textContent)")
    return sorted(t or "" for t in texts)


def test_a_taken_label_asks_before_anything_changes_and_keep_both_can_be_undone(app_url, page):
    page.set_viewport_size({"width": 1400, "height": 1800})
    page.goto(f"{app_url}/scans")
    page.get_by_text("Synthetic phantom").first.wait_for(timeout=60_000)
    wait_idle(page)
    label = page.get_by_role("textbox", name="Label").nth(1)  # the 'by numbers' form's label
    expect(label).to_have_value("ROI1", timeout=60_000)  # a free default, not L1 or L2
    label.fill("L1")
    label.press("Enter")
    wait_idle(page)
    before = _legend(page)
    page.get_by_role("button", name="Add ellipse on slice 7").click()
    page.get_by_text("an ROI labelled 'L1' already exists").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert _legend(page) == before  # nothing replaced while the question is open
    page.screenshot(path=str(ARTIFACTS / "scans-label-question.png"), full_page=True)
    page.get_by_role("button", name="Keep both (new one as L1_2)").click()
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "scans-label-kept.png"), full_page=True)
    page.locator(".js-plotly-plot .legendtext", has_text="L1_2").wait_for(timeout=60_000)
    wait_idle(page)
    assert _legend(page) == sorted([*before, "L1_2"])
    page.get_by_role("button", name="Undo the last change").click()
    page.get_by_text("Undone back to the last change").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert _legend(page) == before
    assert page.locator('[data-testid="stException"]').count() == 0
