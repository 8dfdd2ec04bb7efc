"""The bad-input corpus through the pages (AppTest): a clear message, no exception, earlier data kept."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from dashboard import state
from tests import apptest_tools as tools
from tests.bad_inputs.make_corpus import good_table

MANIFEST: list[dict] = json.loads((tools.CORPUS / "manifest.json").read_text(encoding="utf-8"))
# Words in an uploader's label that say which kind of file it takes.
LABEL_WORDS = {
    "cohort": ("cohort", "table", "measurement", "csv"),
    "raw": ("raw", "per-vertebra", "template"),
    "model": ("model",),
    "roi": ("roi",),
    "dicom": ("dicom", "scan", "series", "zip"),
}
PAGES: list[str] = tools.page_paths()


@functools.cache
def _uploaders_of(page: str) -> list:
    """The file uploaders a page shows when it opens (one AppTest run per page)."""
    return list(tools.open_page(page).file_uploader)


def _find_uploader(surface: str, suffix: str) -> tuple[str, int] | None:
    """(page, uploader index) that reads files of this surface, by the uploader's label and file types."""
    best = None
    for page in PAGES:
        for index, uploader in enumerate(_uploaders_of(page)):
            label = uploader.label.lower()
            if surface == "dicom" and not (
                tools.accepts(uploader, ".zip") or tools.accepts(uploader, ".dcm")
            ):
                continue
            named = any(word in label for word in LABEL_WORDS[surface])
            if named and (surface == "dicom" or tools.accepts(uploader, suffix) or suffix == ".xls"):
                return page, index  # an .xls is offered under an accepted name, as a user renaming it would
            if (
                surface == "cohort"
                and best is None
                and "raw" not in label
                and tools.accepts(uploader, suffix)
            ):
                best = (page, index)
    return best


_UPLOADERS: dict[tuple[str, str], tuple[str, int] | None] = {}


def _uploader(surface: str, suffix: str) -> tuple[str, int] | None:
    key = (surface, ".json" if suffix == ".joblib" else suffix)
    if key not in _UPLOADERS:
        _UPLOADERS[key] = _find_uploader(*key)
    return _UPLOADERS[key]


def _upload_name(uploader, name: str) -> str:
    """The file name as uploaded: renamed to an accepted suffix when the browser would refuse this one."""
    suffix = Path(name).suffix
    if tools.accepts(uploader, suffix):
        return name
    accepted = [t for t in uploader.allowed_type if t]
    return Path(name).stem + "." + accepted[0].lstrip(".")


def _cohort_ids(at) -> list[str] | None:
    table = at.session_state.get(state.COHORT)
    return None if table is None else list(table["patient_id"])


def _roi_labels(at) -> dict | None:
    """The Scans page's ROIs per series (its `scan_rois` session key), as labels."""
    store = at.session_state.get("scan_rois")
    return None if store is None else {uid: [r.label for r in rois] for uid, rois in store.items()}


# Masks are read only by `ovcf batch` (tests/test_bad_inputs_cli.py); no page takes them.
@pytest.mark.parametrize("entry", [pytest.param(e, id=e["file"]) for e in MANIFEST if e["surface"] != "mask"])
def test_bad_file_uploaded_to_its_page_shows_a_message_and_keeps_earlier_data(entry):
    path = tools.CORPUS / entry["file"]
    where = _uploader(entry["surface"], path.suffix)
    if where is None:
        pytest.skip(f"no page on this branch uploads {entry['surface']} files yet")
    page, index = where
    at = tools.open_page(page)
    before = None
    if entry["surface"] == "cohort":
        at = tools.upload(at, index, "good.csv", good_table().encode())
        assert not at.exception
        before = _cohort_ids(at)
        assert before == [f"P{i:02d}" for i in range(1, 25)], "the good upload became the cohort"
    rois_before = _roi_labels(at)
    at = tools.upload(at, index, _upload_name(at.file_uploader[index], entry["file"]), path.read_bytes())
    assert not at.exception, f"{entry['file']}: {at.exception}"
    shown = tools.shown_text(at).lower()
    assert "traceback" not in shown
    if entry["outcome"] == "ok":
        assert not at.error, [e.value for e in at.error]
        return
    assert at.error or at.warning, "a message must be shown"
    assert entry["expect"].lower() in shown, f"expected '{entry['expect']}' on {page}"
    if entry["surface"] == "cohort" and entry["outcome"] == "error" and before is not None:
        assert _cohort_ids(at) == before, "the cohort loaded before the bad upload is kept"
    if entry["surface"] == "roi":
        assert rois_before and any(rois_before.values()), "the phantom's ROIs were there before"
        assert _roi_labels(at) == rois_before, "the ROIs drawn before the bad ROI file are kept"


@pytest.mark.parametrize(
    ("page", "state_key", "label"),
    [("dashboard/pages/matching.py", state.MATCHING_POOL, "pool"),
     ("dashboard/pages/reliability.py", state.RATINGS, "measurements")],
)  # fmt: skip
def test_a_broken_pool_or_ratings_upload_says_why_and_keeps_the_table_shown_before(page, state_key, label):
    at = tools.open_page(page)
    before = at.session_state[state_key]
    assert before["synthetic"] is True
    at = tools.upload(at, 0, "broken.csv", b"\x00\x01 not a table \xff")
    assert not at.exception
    assert any(f"the {label} shown before" in e.value.lower() for e in at.error), [e.value for e in at.error]
    after = at.session_state[state_key]
    assert after["source"] == before["source"] and after["table"] is before["table"]
