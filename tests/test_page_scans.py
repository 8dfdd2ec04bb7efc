"""Scans page (AppTest): phantom on open, uploads with bad files, ROIs, indicators, no identifiers shown."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pydicom
import pytest

from dashboard import state
from ovcf_core.imaging import load_series
from ovcf_core.imaging.phantoms import (
    CT_MASK_HU,
    PLANTED_IDENTIFIERS,
    ct_lumbar_phantom,
    ct_mask_phantom,
    mr_t1_sagittal_phantom,
    mr_t2_axial_phantom,
    t1_mask_phantom,
    t2_mask_phantom,
)
from tests import apptest_tools as tools

PAGE = "dashboard/pages/scans.py"
PLANTED = [v.encode() for v in PLANTED_IDENTIFIERS.values()]


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files:
            archive.writestr(f"series/{name}", data)
    return buffer.getvalue()


def _add_ellipse(at, cx: float, cy: float, rx: float, ry: float):
    """Fill the 'by numbers' form and press its Add button."""
    for index, value in enumerate((cx, cy, rx, ry)):
        at.number_input[index].set_value(value)
    submit = next(b for b in at.button if b.label.startswith("Add ellipse"))
    return submit.click().run()


def _number_label(at):
    """The label box of the 'by numbers' form (its key carries the series UID)."""
    return next(t for t in at.text_input if (t.key or "").startswith("scan_number_label_"))


def _uploader(at, word: str):
    return next(i for i, u in enumerate(at.file_uploader) if word in u.label.lower())


def _table(at):
    """The measurement table (the last table on the page, under readable column names)."""
    return at.dataframe[-1].value


def test_page_opens_on_a_labelled_synthetic_phantom_with_its_rois_measured():
    at = tools.open_page(PAGE)
    assert not at.exception
    assert any("synthetic phantom" in c.value.lower() for c in at.caption)
    table = _table(at).set_index("ROI")
    assert table.loc[["L1", "L2", "L3", "L4"], "Mean (HU)"].tolist() == [152.0, 138.0, 121.0, 109.0]
    assert (table["Structure"] == "vertebral body").all()


def test_t2_phantom_shows_muscle_area_and_fat_percent():
    at = tools.open_page(PAGE)
    at.radio(key="scan_phantom").set_value("MR T2 axial (muscles, rCSA, FI)").run()
    assert not at.exception
    table = _table(at).set_index("ROI")
    truth = mr_t2_axial_phantom()
    for label, fi in truth.fat_percent.items():
        assert table.loc[label, "Fat (%)"] == pytest.approx(fi)
        assert table.loc[label, "Area (mm²)"] == pytest.approx(truth.area_mm2[label])


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
    _number_label(at).set_value("MY_ROI")
    at = _add_ellipse(at, 32.0, 36.0, 4.0, 3.0)
    assert not at.exception
    table = _table(at).set_index("ROI")
    assert "MY_ROI" in table.index and table.loc["MY_ROI", "Structure"] == "other (not in an indicator)"


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
    assert "OK1" in set(_table(at)["ROI"])


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


# ------------------------------------------------------------------ ROI editing never surprises (issue 13.10)


def _measured(at) -> dict[str, tuple[int, float]]:
    """label -> (slice, mean) of the measurement table."""
    table = _table(at)
    return {row["ROI"]: (int(row["Slice"]), float(row["Mean (HU)"])) for _, row in table.iterrows()}


def _show_slice(at, index: int):
    slider = next(s for s in at.slider if s.key.startswith("scan_slice_"))
    return slider.set_value(index).run()


def _press(at, start: str):
    return next(b for b in at.button if b.label.startswith(start)).click().run()


def _upload_ct(at):
    phantom = ct_lumbar_phantom()
    return tools.upload(at, _uploader(at, "dicom"), "series.zip", _zip(phantom.uploads()))


def test_adding_an_roi_under_a_taken_label_asks_and_changes_nothing_until_answered():
    at = _show_slice(tools.open_page(PAGE), 7)
    before = _measured(at)
    assert before["L2"] == (5, 138.0)
    _number_label(at).set_value("L2")
    at = _add_ellipse(at, 32.0, 36.0, 4.0, 3.0)
    assert not at.exception
    question = " ".join(w.value for w in at.warning)
    assert "an ROI labelled 'L2' already exists (ellipse on slice 5" in question
    assert _measured(at) == before  # nothing replaced while the question is open
    at = _press(at, "Cancel")
    assert _measured(at) == before and "already exists" not in " ".join(w.value for w in at.warning)
    assert len(_history(at).steps) == 1  # a cancelled add is not a change


def test_keep_both_adds_the_new_roi_under_a_free_label_and_replace_says_what_moved():
    at = _show_slice(tools.open_page(PAGE), 7)
    _number_label(at).set_value("L2")
    at = _add_ellipse(at, 32.0, 36.0, 4.0, 3.0)
    at = _press(at, "Keep both (new one as L2_2)")
    measured = _measured(at)
    assert measured["L2"] == (5, 138.0) and measured["L2_2"][0] == 7
    _number_label(at).set_value("l2")  # labels are case-insensitive, as the indicators
    at = _add_ellipse(at, 32.0, 36.0, 4.0, 3.0)
    at = _press(at, "Replace L2")
    assert _measured(at)["l2"][0] == 7 and "L2" not in _measured(at)
    shown = " ".join(s.value for s in at.success)
    assert "replaced L2" in shown and "slice 5 → 7" in shown


def test_default_labels_follow_the_drawing_guide_and_never_collide():
    at = tools.open_page(PAGE)
    assert _number_label(at).value == "ROI1"  # L1..L4 are drawn on the phantom
    at = _add_ellipse(at, 32.0, 36.0, 4.0, 3.0)
    assert "ROI1" in _measured(at) and _number_label(at).value == "ROI2"
    at = _upload_ct(tools.open_page(PAGE))
    assert _number_label(at).value == "L1"
    at = _add_ellipse(at, 32.0, 36.0, 4.0, 3.0)
    assert _number_label(at).value == "L2"


def _history(at):
    """The ROI history of the series shown (phantom or upload)."""
    histories = at.session_state["scan_roi_history"]
    shown = [h for k, h in histories.items() if k.startswith(at.session_state["scan_roi_source"] + ":")]
    assert len(shown) == 1
    return shown[0]


def test_every_change_is_listed_and_can_be_undone_one_by_one_or_back_to_a_step():
    at = _show_slice(tools.open_page(PAGE), 7)
    original = _measured(at)
    at = _add_ellipse(at, 32.0, 36.0, 4.0, 3.0)  # step 1: ROI1 added
    at.selectbox(key="scan_edit_label").set_value("L1").run()
    centre_x = [n for n in at.number_input if n.label == "centre x"]
    assert len(centre_x) == 2 and centre_x[1].value == 32.0  # the add form's, then L1's
    centre_x[1].set_value(30.0)  # slice stays; centre x moves
    at = next(b for b in at.button if b.label == "Apply the change to L1").click().run()  # step 2
    at.multiselect(key="scan_remove").set_value(["L3", "L4"]).run()
    at = _press(at, "Delete 2 ROI(s)")  # step 3: both in one change
    assert set(_measured(at)) == {"L1", "L2", "ROI1"}
    changes = next(d.value for d in at.dataframe if "Change" in d.value.columns)
    assert changes["Change"].tolist() == ["added", "moved/resized", "deleted"]
    assert changes["ROIs"].tolist() == ["ROI1", "L1", "L3, L4"]
    assert changes["Detail"].iloc[1] == "L1: centre (32, 36) → (30, 36)"
    at = _press(at, "Undo the last change")
    assert set(_measured(at)) == {"L1", "L2", "L3", "L4", "ROI1"}
    at.selectbox(key="scan_undo_step_2").set_value(0).run()
    at = _press(at, "Go back")
    assert _measured(at) == original
    assert len(_history(at).steps) == 1


def test_an_upload_without_rois_shows_what_to_draw_for_its_indicators():
    at = _upload_ct(tools.open_page(PAGE))
    assert any("No ROI on this CT axial series yet" in i.value for i in at.info)
    guide = at.dataframe[0].value
    assert guide["Labels"].tolist() == ["L1, L2, L3, L4"] and "trabecular" in guide["Draw"].iloc[0]
    t1 = tools.upload(tools.open_page(PAGE), 0, "t1.zip", _zip(mr_t1_sagittal_phantom().uploads()))
    guide = t1.dataframe[0].value
    assert guide["Labels"].tolist() == ["L1, L2, L3, L4", "CSF_L3"]
    assert "mid-sagittal T1" in guide["Draw"].iloc[0]
    t2 = tools.upload(tools.open_page(PAGE), 0, "t2.zip", _zip(mr_t2_axial_phantom().uploads()))
    guide = t2.dataframe[0].value
    assert guide["Labels"].tolist()[:2] == [
        "PM_L_L1L2, PM_R_L1L2, … ES_R_L4L5",
        "DISC_L1L2, DISC_L2L3, DISC_L3L4, DISC_L4L5",
    ]
    assert _number_label(t2).value == "PM_L_L1L2"


def test_all_uploaded_files_are_removed_with_one_button():
    phantom = mr_t2_axial_phantom()
    at = tools.open_page(PAGE)
    folder = next(u for u in at.file_uploader if u.label == "DICOM folder")
    folder.set_value([(name, data, "application/dicom") for name, data in phantom.uploads()])
    at = at.run()
    assert "MR axial, 2 slice(s)" in " ".join(c.value for c in at.caption)
    at = _press(at, "Remove all 2 uploaded file(s)")
    assert not at.exception
    assert all(not u.value for u in at.file_uploader)
    assert any("synthetic phantom" in c.value.lower() for c in at.caption)
    masks = t1_mask_phantom()
    at = _with_masks(masks, list(masks.nifti_files().items()))
    at = _press(at, "Remove all 5 mask files")
    assert not next(u for u in at.file_uploader if u.label.startswith("Segmentation masks")).value
    assert set(_review(at)) == {"L1", "L2", "L3", "L4", "CSF_L2", "CSF_L3", "CSF_L4"}  # the review stays


def test_measurement_table_has_readable_headers_and_blanks_not_none():
    at = tools.open_page(PAGE)
    at.radio(key="scan_phantom").set_value("MR T2 axial (muscles, rCSA, FI)").run()
    table = _table(at)
    assert {"ROI", "Structure", "Muscle", "Side", "Area (mm²)", "Fat (%)"} <= set(table.columns)
    assert not {"label", "kind", "fi_percent", "area_mm2"} & set(table.columns)
    disc = table.set_index("ROI").loc["DISC_L3L4"]
    assert disc["Structure"] == "disc" and disc.isna()["Muscle"] and disc.isna()["Fat (%)"]
    proto = at.dataframe[-1].proto.SerializeToString()
    assert b"None" not in proto and b"nan" not in proto


# ------------------------------------------------------------ masks: review and correct (issue 14 item 2)


def _with_masks(phantom, masks: list[tuple[str, bytes]]):
    """The Scans page with a mask phantom's series uploaded and its masks read."""
    at = tools.upload(tools.open_page(PAGE), 0, "series.zip", _zip(phantom.phantom.uploads()))
    uploader = next(u for u in at.file_uploader if u.label.startswith("Segmentation masks"))
    uploader.set_value([(name, data, "application/octet-stream") for name, data in masks])
    return _press(at.run(), "Read the masks")


def _review(at) -> dict[str, tuple[str, float | None]]:
    """region -> (review status, mean now) from the review table."""
    table = next(d.value for d in at.dataframe if "Review" in d.value.columns)
    now = next(c for c in table.columns if c.startswith("Mean now"))
    return {
        r["Region"]: (r["Review"], None if pd.isna(r[now]) else float(r[now])) for _, r in table.iterrows()
    }


def _si(at) -> dict[str, float]:
    return {row["ROI"]: float(row["Mean (SI)"]) for _, row in _table(at).iterrows()}


def test_masks_are_read_onto_the_series_and_their_regions_wait_for_review_as_one_listed_change():
    phantom = t1_mask_phantom()
    at = _with_masks(phantom, list(phantom.nifti_files().items()))
    assert not at.exception and not at.error
    review = _review(at)
    assert set(review) == {"L1", "L2", "L3", "L4", "CSF_L2", "CSF_L3", "CSF_L4"}
    assert {status for status, _ in review.values()} == {"to review"}
    middle = phantom.images[1]
    for level in ("L1", "L2", "L3", "L4"):  # independent: numpy on the phantom's own image and mask
        assert _si(at)[level] == pytest.approx(middle[phantom.labels[level][1]].mean())
    assert _history(at).steps[-1].detail.startswith("7 ROI(s) from mask 5 mask files;")
    assert at.metric[0].value == f"{phantom.truth['vbq']:.2f}"  # VBQ with its 2 decimals (formatting policy)


def test_accepting_rejecting_or_editing_a_region_changes_only_that_regions_value():
    phantom = t1_mask_phantom()
    at = _with_masks(phantom, list(phantom.nifti_files().items()))
    before = _si(at)
    at.selectbox(key="scan_region").set_value("L1").run()
    at = _press(at, "Accept L1")
    assert _review(at)["L1"][0] == "accepted" and _si(at) == before
    at.selectbox(key="scan_region").set_value("L2").run()
    centre_y = next(n for n in at.number_input if n.label == "centre y" and n.value != 64.0)
    centre_y.set_value(centre_y.value - 14.0)  # the ellipse moves up, half into the disc space
    at = _press(at, "Replace L2 by this ellipse")
    after = _si(at)
    assert after["L2"] != pytest.approx(before["L2"])
    assert {k: v for k, v in after.items() if k != "L2"} == {k: v for k, v in before.items() if k != "L2"}
    assert _review(at)["L2"] == ("edited", after["L2"])
    at.selectbox(key="scan_region").set_value("L3").run()
    at = _press(at, "Reject L3")
    assert "L3" not in _si(at) and _review(at)["L3"] == ("rejected", None)
    assert {k: v for k, v in _si(at).items()} == {k: v for k, v in after.items() if k != "L3"}
    at = _press(at, "Restore L3 as segmented")
    assert _si(at)["L3"] == before["L3"]


def test_next_and_previous_step_through_the_regions_and_show_each_ones_slice():
    phantom = t2_mask_phantom()
    at = _with_masks(phantom, list(phantom.nifti_files().items()))
    assert not at.exception and not at.error, [e.value for e in at.error]
    slider = next(s for s in at.slider if s.key.startswith("scan_slice_"))
    first = at.selectbox(key="scan_region").value
    seen = []
    for _ in range(len(_review(at))):
        region = at.selectbox(key="scan_region").value
        slider = next(s for s in at.slider if s.key.startswith("scan_slice_"))
        seen.append((region, slider.value))
        at = _press(at, "Next ▶")
    assert at.selectbox(key="scan_region").value == first  # round the list
    slices = {region: k for region, k in seen}
    assert slices["DISC_L4L5"] == 0 and slices["DISC_L3L4"] == 1 and slices["PM_L_L3L4"] == 1
    at = _press(at, "◀ Previous")
    assert at.selectbox(key="scan_region").value == seen[-1][0]


def test_corrected_regions_export_as_roi_json_and_dicom_seg_listing_each_correction():
    phantom = t1_mask_phantom()
    at = _with_masks(phantom, list(phantom.nifti_files().items()))
    at.selectbox(key="scan_region").set_value("L3").run()
    at = _press(at, "Reject L3")
    with tools.recorded_media() as media:
        at = _press(at, "Build the DICOM SEG")
        for button in at.download_button:
            if button.label.startswith("⬇ Corrected"):
                button.click()
        at = at.run()
    document = next(json.loads(m) for m in media if m.startswith(b"{") and b'"corrections"' in m)
    assert [c["action"] for c in document["corrections"]] == ["loaded from a file", "rejected mask region"]
    assert "L3" not in {r["label"] for r in document["rois"]}
    assert all(set(c) == {"step", "when", "action", "labels", "detail"} for c in document["corrections"])
    seg = next(m for m in media if m[128:132] == b"DICM")
    dataset = pydicom.dcmread(io.BytesIO(seg))
    assert "rejected mask region L3" in dataset.ImageComments
    assert not any(p in seg for p in PLANTED)


def test_a_misaligned_mask_is_refused_in_one_line_and_the_drawn_rois_are_kept():
    phantom = t1_mask_phantom()
    at = tools.upload(tools.open_page(PAGE), 0, "series.zip", _zip(phantom.phantom.uploads()))
    at = _add_ellipse(at, 50.0, 50.0, 4.0, 4.0)
    uploader = next(u for u in at.file_uploader if u.label.startswith("Segmentation masks"))
    table = json.dumps({str(k): v for k, v in phantom.value_table().items()}).encode()
    shifted = phantom.nifti(shift_mm=(0.0, 7.0, 0.0))
    uploader.set_value(
        [("labels.nii.gz", shifted, "application/gzip"), ("labels.json", table, "application/json")]
    )
    at = _press(at.run(), "Read the masks")
    assert not at.exception
    assert len(at.error) == 1 and "labels.nii.gz" in at.error[0].value and "\n" not in at.error[0].value
    assert set(_si(at)) == {"L1"}


def test_a_dicom_seg_and_a_multi_label_nifti_with_its_label_table_give_the_same_regions():
    from ovcf_core.imaging.mask_files import read_label_map
    from ovcf_core.imaging.seg import write_seg

    phantom = t1_mask_phantom()
    series = load_series(phantom.phantom.uploads()).series[0]
    seg = write_seg(read_label_map(list(phantom.nifti_files().items()), series), series)
    from_seg = _with_masks(phantom, [("masks_seg.dcm", seg)])
    assert not from_seg.exception and not from_seg.error, [e.value for e in from_seg.error]
    table = json.dumps({str(k): v for k, v in phantom.value_table().items()}).encode()
    from_nifti = _with_masks(phantom, [("labels.nii.gz", phantom.nifti()), ("labels.json", table)])
    assert not from_nifti.error, [e.value for e in from_nifti.error]
    assert _si(from_seg) == _si(from_nifti) and set(_si(from_seg)) == set(_review(from_seg))
    assert set(_history(from_seg).rois) == set(_history(from_nifti).rois)  # the same polygons


def test_indicators_are_shown_with_the_formatting_policys_decimals():
    at = tools.open_page(PAGE)
    assert at.metric[0].label == "HU" and at.metric[0].value == "130.0"  # (152+138+121+109)/4, 1 decimal
    assert any(c.value == "Measured on this page so far: HU 130.0" for c in at.caption)


def test_ct_masks_give_each_vertebras_trabecular_core_section_with_its_true_hu():
    phantom = ct_mask_phantom()
    at = _with_masks(phantom, list(phantom.nifti_files().items()))
    assert not at.exception and not at.error, [e.value for e in at.error]
    measured = _measured(at)
    assert {k: v[1] for k, v in measured.items()} == CT_MASK_HU  # uniform trabecular bone, no cortex
    assert any("3-D mean HU" in c.value and "L1 147.0" in c.value for c in at.caption)


def test_renaming_an_roi_onto_another_rois_label_is_refused_and_nothing_changes():
    at = tools.open_page(PAGE)
    before = _measured(at)
    at.selectbox(key="scan_edit_label").set_value("L1").run()
    label = next(t for t in at.text_input if t.value == "L1" and not (t.key or "").startswith("scan_"))
    label.set_value("L2")
    at = next(b for b in at.button if b.label == "Apply the change to L1").click().run()
    assert any("Not changed: 'L2' is the label of another ROI" in e.value for e in at.error)
    assert _measured(at) == before and len(_history(at).steps) == 1


BAD_MASKS = [
    e["file"] for e in json.loads((tools.CORPUS / "manifest.json").read_text()) if e["surface"] == "mask"
]


@pytest.mark.parametrize("name", BAD_MASKS)
def test_a_bad_mask_from_the_corpus_gets_one_line_naming_it_and_changes_no_roi(name):
    phantom = ct_mask_phantom()
    at = tools.upload(tools.open_page(PAGE), 0, "series.zip", _zip(phantom.phantom.uploads()))
    at = _add_ellipse(at, 24.0, 26.0, 4.0, 4.0)
    before = _history(at).rois
    uploader = next(u for u in at.file_uploader if u.label.startswith("Segmentation masks"))
    uploader.set_value([(name, (tools.CORPUS / name).read_bytes(), "application/gzip")])
    at = _press(at.run(), "Read the masks")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(f"{name}: ") and "\n" not in errors[0], errors
    assert "traceback" not in tools.shown_text(at).lower()
    assert _history(at).rois == before and len(_history(at).steps) == 2
