"""Scans page (AppTest): phantom on open, uploads with bad files, ROIs, indicators, no identifiers shown."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from dashboard import state
from ovcf_core.imaging.phantoms import PLANTED_IDENTIFIERS, ct_lumbar_phantom, mr_t2_axial_phantom
from tests import apptest_tools as tools

PAGE = "dashboard/pages/scans.py"
PLANTED = [v.encode() for v in PLANTED_IDENTIFIERS.values()]


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files:
            archive.writestr(f"series/{name}", data)
    return buffer.getvalue()


def _uploader(at, word: str):
    return next(i for i, u in enumerate(at.file_uploader) if word in u.label.lower())


def _table(at):
    return at.dataframe[0].value


def test_page_opens_on_a_labelled_synthetic_phantom_with_its_rois_measured():
    at = tools.open_page(PAGE)
    assert not at.exception
    assert any("synthetic phantom" in c.value.lower() for c in at.caption)
    table = _table(at).set_index("label")
    assert table.loc[["L1", "L2", "L3", "L4"], "mean"].tolist() == [152.0, 138.0, 121.0, 109.0]
    assert (table["kind"] == "vertebra").all()


def test_t2_phantom_shows_muscle_area_and_fat_percent():
    at = tools.open_page(PAGE)
    at.radio(key="scan_phantom").set_value("MR T2 axial (muscles, rCSA, FI)").run()
    assert not at.exception
    table = _table(at).set_index("label")
    truth = mr_t2_axial_phantom()
    for label, fi in truth.fat_percent.items():
        assert table.loc[label, "fi_percent"] == pytest.approx(fi)
        assert table.loc[label, "area_mm2"] == pytest.approx(truth.area_mm2[label])


def test_upload_with_bad_files_warns_once_per_file_and_measures_the_good_ones():
    phantom = ct_lumbar_phantom()
    files = [*phantom.uploads(), ("notes.txt", b"not dicom"), ("cut.dcm", phantom.uploads()[0][1][:1200])]
    at = tools.open_page(PAGE)
    at = tools.upload(at, _uploader(at, "dicom"), "series.zip", _zip(files))
    assert not at.exception
    warnings = [w.value for w in at.warning if w.value.startswith("Skipped")]
    assert len(warnings) == 2
    assert any("series/notes.txt: not a DICOM file" in w for w in warnings)
    assert any("series/cut.dcm: truncated" in w for w in warnings)
    assert "CT axial, 8 slice(s)" in " ".join(c.value for c in at.caption)
    assert not any("synthetic phantom" in c.value.lower() for c in at.caption)


def test_hostile_zip_shows_one_error_naming_it_and_the_phantom_stays_usable():
    at = tools.open_page(PAGE)
    data = (tools.CORPUS / "dicom_zip_traversal.zip").read_bytes()
    at = tools.upload(at, _uploader(at, "dicom"), "evil.zip", data)
    assert not at.exception
    assert [e.value for e in at.error] == [
        "evil.zip: member '../../../tmp/ovcf_evil.dcm' would be written outside its folder (path traversal); "
        "the archive is refused"
    ]
    assert len(_table(at)) == 4


def test_no_planted_identifier_reaches_the_page_or_its_downloads():
    phantom = mr_t2_axial_phantom()
    with tools.recorded_media() as media:
        at = tools.open_page(PAGE)
        at = tools.upload(at, _uploader(at, "dicom"), "series.zip", _zip(phantom.uploads()))
        assert not at.exception
        for button in at.download_button:
            button.click()
        at = at.run()
        shown = tools.shown_bytes(at) + b"".join(media)
    assert not any(p in shown for p in PLANTED)
    assert b"synthetic T2 axial" in shown  # the technical description is shown


def test_rois_added_by_numbers_are_measured_and_drawn():
    at = tools.open_page(PAGE)
    form_inputs = [t for t in at.text_input if t.value == "L2"]
    form_inputs[0].set_value("MY_ROI")
    at.number_input[0].set_value(32.0)
    at.number_input[1].set_value(36.0)
    at.number_input[2].set_value(4.0)
    at.number_input[3].set_value(3.0)
    submit = next(b for b in at.button if b.label == "Add ellipse")
    at = submit.click().run()
    assert not at.exception
    table = _table(at).set_index("label")
    assert "MY_ROI" in table.index and table.loc["MY_ROI", "kind"] == "other"


def test_imported_roi_file_reports_bad_rois_by_label():
    at = tools.open_page(PAGE)
    rois = {
        "rois": [
            {"label": "OK1", "slice": 1, "shape": "ellipse", "center": [32, 36], "radii": [3, 3]},
            {"label": "FAR", "slice": 1, "shape": "ellipse", "center": [-500, -500], "radii": [3, 3]},
            {"label": "LOST", "slice": 99, "shape": "ellipse", "center": [32, 36], "radii": [3, 3]},
        ]
    }
    at = tools.upload(at, _uploader(at, "roi"), "rois.json", json.dumps(rois).encode())
    errors = " ".join(e.value for e in at.error)
    assert "ROI 'FAR' reaches outside" in errors and "ROI 'LOST' is on slice 99" in errors
    use = next(b for b in at.button if b.label.startswith("Use the 1 valid ROI"))
    at = use.click().run()
    assert "OK1" in set(_table(at)["label"])


def test_indicators_are_sent_to_the_calculator_and_to_the_cohort():
    at = tools.open_page(PAGE)
    at.multiselect(key="scan_fractured").set_value(["L2"]).run()
    at = next(b for b in at.button if b.label.startswith("Send VBQ and HU")).click().run()
    assert at.session_state[state.CALCULATOR_INPUTS]["hu"] == pytest.approx((152 + 121 + 109) / 3)
    submit = next(b for b in at.button if b.label == "Add the row")
    at = submit.click().run()
    assert not at.exception
    cohort = at.session_state[state.COHORT]
    assert cohort["hu"].iloc[-1] == pytest.approx((152 + 121 + 109) / 3)


def test_a_folder_upload_of_several_files_loads_the_series():
    phantom = mr_t2_axial_phantom()
    at = tools.open_page(PAGE)
    index = next(i for i, u in enumerate(at.file_uploader) if u.label == "DICOM folder")
    uploader = at.file_uploader[index]
    uploader.set_value([(name, data, "application/dicom") for name, data in phantom.uploads()])
    at = at.run()
    assert not at.exception
    assert "MR axial, 2 slice(s), 128×128" in " ".join(c.value for c in at.caption)


def test_window_preset_defaults_to_bone_on_ct_and_auto_on_mr():
    at = tools.open_page(PAGE)
    assert at.radio(key="scan_window_CT").value == "bone"
    at.radio(key="scan_phantom").set_value("MR T1 sagittal (VBQ)").run()
    assert at.radio(key="scan_window_MR").value == "MR auto"


def test_vbq_from_the_t1_phantom_goes_to_the_calculator_next_to_hu():
    at = tools.open_page(PAGE)
    at = next(b for b in at.button if b.label.startswith("Send VBQ and HU")).click().run()
    at.radio(key="scan_phantom").set_value("MR T1 sagittal (VBQ)").run()
    at = next(b for b in at.button if b.label.startswith("Send VBQ and HU")).click().run()
    inputs = at.session_state[state.CALCULATOR_INPUTS]
    assert inputs["vbq"] == pytest.approx((330 + 345) / 2 / 100)
    assert inputs["hu"] == pytest.approx((152 + 138 + 121 + 109) / 4)
