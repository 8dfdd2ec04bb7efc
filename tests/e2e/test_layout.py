"""Layout in real headless Chromium at 1400x900 and 1920x1080: plotly's modebar never covers a legend or a
title, ROC legends never cover the curves, and result tables are not clipped (no horizontal scrolling).

Screenshots of each page at each size go to test-artifacts/e2e/layout-<page>-<width>.png.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, wait_idle

pytestmark = pytest.mark.e2e

SIZES = ((1400, 900), (1920, 1080))
PAGES = ("cohort", "correlations", "roc", "logistic", "reliability", "report")
# the tables checked for clipping: the analysis pages' (the Reliability page's method-agreement tables are
# its owner's, checked in its own tests)
TABLE_PAGES = ("cohort", "correlations", "roc", "logistic", "report")

BOXES = """charts => charts.map(chart => {
  const box = el => { if (!el) return null; const r = el.getBoundingClientRect();
                      return r.width > 0 && r.height > 0 ? [r.left, r.top, r.right, r.bottom] : null; };
  const plot = chart.querySelector('.nsewdrag') || chart.querySelector('.bglayer .bg');
  return {modebar: box(chart.querySelector('.modebar')), legend: box(chart.querySelector('.legend')),
          title: box(chart.querySelector('.gtitle')), plot: box(plot),
          title_text: (chart.querySelector('.gtitle') || {}).textContent || ''};
})"""

TABLES = """grids => grids.map(grid => {
  const scroller = grid.querySelector('.dvn-scroller') || grid;
  return {scroll: scroller.scrollWidth, client: scroller.clientWidth,
          header: (grid.innerText || '').slice(0, 60)};
})"""


def _overlap(a: list[float] | None, b: list[float] | None, tolerance: float = 1.0) -> bool:
    """True when the two boxes [left, top, right, bottom] share more than `tolerance` px both ways."""
    if a is None or b is None:
        return False
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width > tolerance and height > tolerance


def _open(browser, app_url: str, path: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{app_url}/{path}")
    wait_idle(page, settle_ms=1200)
    return context, page


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("path", PAGES)
def test_modebar_legend_title_and_tables_do_not_collide(app_url, browser, path, width, height):
    context, page = _open(browser, app_url, path, width, height)
    try:
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / f"layout-{path}-{width}.png"))
        # the app scrolls inside its own container: a viewport as tall as the page draws (and shows) it all
        page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=90_000)
        tall = page.evaluate(
            "() => (document.querySelector('[data-testid=\"stMainBlockContainer\"]') || document.body)"
            ".getBoundingClientRect().height"
        )
        page.set_viewport_size({"width": width, "height": min(int(tall) + 100, 9000)})
        wait_idle(page, settle_ms=1000)
        page.screenshot(path=str(ARTIFACTS / f"layout-{path}-{width}-full.png"))
        charts = page.eval_on_selector_all('[data-testid="stPlotlyChart"]', BOXES)
        assert charts, f"{path}: no figure drawn"
        for chart in charts:
            name = f"{path} at {width}px, figure '{chart['title_text']}'"
            assert chart["modebar"] is not None, f"{name}: no modebar found"
            assert not _overlap(chart["modebar"], chart["legend"]), f"{name}: the modebar covers the legend"
            assert not _overlap(chart["modebar"], chart["title"]), f"{name}: the modebar covers the title"
            assert not _overlap(chart["legend"], chart["title"]), f"{name}: the legend covers the title"
            if chart["title_text"].startswith("ROC"):
                assert not _overlap(chart["legend"], chart["plot"]), f"{name}: the legend covers the curves"
        grids = (
            page.eval_on_selector_all('[data-testid="stDataFrame"]', TABLES) if path in TABLE_PAGES else []
        )
        for grid in grids:
            assert grid["scroll"] <= grid["client"] + 2, f"{path} at {width}px: table clipped: {grid}"
    finally:
        context.close()
