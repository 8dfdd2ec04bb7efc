"""End to end in real headless Chromium: every page renders without an exception, key content shows,
and an upload through the file input replaces the cohort."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, upload_sample_rows, wait_idle

pytestmark = pytest.mark.e2e


def _nav_paths(page) -> list[str]:
    """The url paths of every page in the sidebar navigation, in order."""
    hrefs = page.eval_on_selector_all(
        '[data-testid="stSidebarNav"] a', "links => links.map(a => a.getAttribute('href'))"
    )
    return [re.sub(r"^.*/", "", h or "") or "home" for h in hrefs]


# Study planning computes sample sizes from numbers the user types; it shows no sample data or model.
PAGES_WITHOUT_SAMPLE_DATA = {"planning"}


def _assert_no_exception(page, name: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{name}: {exceptions.first.inner_text()[:500]}"


def test_every_page_renders_without_exception_and_shows_its_key_content(app_url, page):
    page.goto(app_url)
    wait_idle(page)
    paths = _nav_paths(page)
    assert {"home", "data", "cohort", "roc"} <= set(paths), paths
    for path in paths:
        page.goto(f"{app_url}/{'' if path == 'home' else path}")
        wait_idle(page)
        _assert_no_exception(page, path)
        body = page.inner_text("body")
        if path not in PAGES_WITHOUT_SAMPLE_DATA:
            assert "Synthetic" in body or "synthetic" in body, f"{path}: sample data not labelled synthetic"
        page.screenshot(path=str(ARTIFACTS / f"page-{path}.png"), full_page=True)
        if path == "roc":
            assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
            assert "AUC" in body
        if path == "cohort":
            assert "Table 1" in body


def test_upload_through_the_file_input_replaces_the_cohort(app_url, page, tmp_path):
    upload_sample_rows(page, app_url, tmp_path, "my_cohort.csv", 40)
    _assert_no_exception(page, "data after upload")
    body = page.inner_text("body")
    assert "my_cohort.csv" in body
    assert re.search(r"\b40\b", body), "the uploaded cohort's 40 patients are not shown"
    page.screenshot(path=str(ARTIFACTS / "data-after-upload.png"), full_page=True)
