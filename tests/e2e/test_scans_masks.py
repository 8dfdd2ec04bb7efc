"""The Scans page in a real Chromium: a T1 series and its masks are uploaded, one region is corrected by
painting a box dragged on the image, and only that region's value changes (read from the CSV download)."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from ovcf_core.imaging.phantoms import t1_mask_phantom
from tests.e2e.conftest import ARTIFACTS, wait_idle

pytestmark = pytest.mark.e2e


def _measurements(page) -> pd.DataFrame:
    """The measurement table as the CSV download gives it, indexed by ROI label."""
    with page.expect_download() as download:
        page.get_by_role("button", name="Measurements (CSV)").click()
    return pd.read_csv(download.value.path()).set_index("label")


def _screenshot(page, name: str) -> None:
    """The whole page: the window is made as tall as Streamlit's scrolling main block, then restored."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 100, 6000)})
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})
    wait_idle(page)


def _drag_box(page, columns: tuple[float, float], rows: tuple[float, float], size: int) -> None:
    """Drag a box on the scan figure between pixel columns and rows (the plot area is the image)."""
    drag = page.locator(".js-plotly-plot .nsewdrag").first
    drag.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = drag.bounding_box()

    def at(column: float, row: float) -> tuple[float, float]:
        return (
            box["x"] + (column + 0.5) / size * box["width"],
            box["y"] + (row + 0.5) / size * box["height"],
        )

    page.mouse.move(*at(columns[0], rows[0]))
    page.mouse.down()
    page.mouse.move(*at(columns[1], rows[1]), steps=10)
    page.mouse.up()


def test_a_series_with_masks_is_corrected_in_one_region_and_only_that_value_changes(app_url, page, tmp_path):
    phantom = t1_mask_phantom()
    series_zip = tmp_path / "t1_series.zip"
    with zipfile.ZipFile(series_zip, "w") as archive:
        for name, data in phantom.phantom.uploads():
            archive.writestr(f"series/{name}", data)
    masks = []
    for name, data in phantom.nifti_files().items():
        (tmp_path / name).write_bytes(data)
        masks.append(str(tmp_path / name))

    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{app_url}/scans")
    page.get_by_text("Synthetic phantom").first.wait_for(timeout=60_000)
    wait_idle(page)
    series = page.locator('[data-testid="stFileUploader"]', has_text="Upload a DICOM series")
    series.locator("input[type=file]").set_input_files(str(series_zip))  # by its label, not the first
    page.get_by_text("MR sagittal, 3 slice(s)").first.wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_role("tab", name="Segmentation masks: review and correct").click()
    wait_idle(page)
    uploader = page.locator('[data-testid="stFileUploader"]', has_text="Segmentation masks")
    uploader.locator("input[type=file]").set_input_files(masks)
    page.get_by_role("button", name="Read the masks").wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_role("button", name="Read the masks").click()
    try:
        page.get_by_role("button", name="Accept CSF_L2").wait_for(timeout=120_000)  # the first region
    except Exception:
        _screenshot(page, "scans-masks-failed.png")
        raise
    wait_idle(page)
    before = _measurements(page)
    assert set(before.index) == {"L1", "L2", "L3", "L4", "CSF_L2", "CSF_L3", "CSF_L4"}
    _screenshot(page, "scans-masks-read.png")

    for _ in range(4):  # CSF_L2, CSF_L3, CSF_L4, L1, then L2 (by slice, then label)
        page.get_by_role("button", name="Next ▶").click()
        wait_idle(page)
    page.get_by_role("button", name="Accept L2").wait_for(timeout=30_000)  # L2 is under review
    page.get_by_role("tab", name="Paint / erase").click()
    _drag_box(page, columns=(56, 70), rows=(46, 56), size=phantom.images.shape[1])
    paint = page.get_by_role("button", name="Paint into L2")
    wait_idle(page)
    _screenshot(page, "scans-masks-box-drawn.png")
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some("
        "b => b.innerText.includes('Paint into L2') && !b.disabled)",
        timeout=30_000,
    )
    paint.click()
    wait_idle(page)
    after = _measurements(page)
    for _ in range(20):  # the rerun after the click may still be on its way on a busy machine
        if after.loc["L2", "n_pixels"] != before.loc["L2", "n_pixels"]:
            break
        page.wait_for_timeout(1000)
        after = _measurements(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    _screenshot(page, "scans-masks-corrected.png")

    changed = [label for label in before.index if before.loc[label, "mean"] != after.loc[label, "mean"]]
    assert changed == ["L2"]
    assert after.loc["L2", "n_pixels"] > before.loc["L2", "n_pixels"]
    others = [label for label in before.index if label != "L2"]
    pd.testing.assert_frame_equal(before.loc[others], after.loc[others])
