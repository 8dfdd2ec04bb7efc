"""`ovcf batch` outputs added by issue 14: protocol columns, QC pictures and index, the risk file.

Expected values come from the phantoms' known truth and from the model's coefficients computed by hand
(numpy), never from the code under test.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from ovcf_core import batch
from ovcf_core.batch import COLUMNS, PROTOCOL_COLUMNS, Backend, find_studies, run_batch
from ovcf_core.batch_qc import QcRegion, level_number, quality_flags, read_records
from ovcf_core.batch_risk import RISK_COLUMNS, risk_path, write_risk
from ovcf_core.imaging.phantoms import mr_t1_sagittal_phantom, mr_t2_axial_phantom, write_phantom
from ovcf_core.model import load_model
from ovcf_core.model.persistence import save_model
from ovcf_core.model.risk_model import RiskModel
from tests import studies
from tests.conftest import run_cli
from tests.model_cohorts import simulated_cohort

HU = {"L1": 160, "L2": 140, "L3": 120, "L4": 100}
ODD_NAME = '<i>x&y"'  # a folder name that must be escaped in the HTML index


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _set_tags(folder: Path, **tags: object) -> None:
    """Set DICOM attributes on every file of a study folder."""
    for path in folder.iterdir():
        dataset = pydicom.dcmread(path)
        for keyword, value in tags.items():
            setattr(dataset, keyword, value)
        dataset.save_as(path, enforce_file_format=True)


def _copy_phantom(phantom, root: Path, name: str) -> None:
    written = write_phantom(phantom, root / "tmp" / name)
    shutil.copytree(written / "series", root / "studies" / name)
    shutil.copy(written / "rois.json", root / "rois" / f"{name}.json")


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """CT studies (plain, contrast, implausibly dense, a tiny ROI, an odd name), MR T1 and T2 phantoms,
    one broken study and one without an ROI file."""
    root = tmp_path_factory.mktemp("outputs")
    (root / "rois").mkdir()
    for name, hu in (
        ("ct_plain", HU),
        ("ct_contrast", HU),
        ("ct_dense", dict.fromkeys(HU, 1600)),
        (ODD_NAME, HU),
    ):
        studies.write_study(root / "studies" / name, hu, seed=len(name))
        studies.write_rois(root / "rois" / f"{name}.json")
    _set_tags(root / "studies" / "ct_plain", KVP="120", ConvolutionKernel="B60f")
    _set_tags(root / "studies" / "ct_contrast", KVP="100", ContrastBolusAgent="Iomeprol")
    studies.write_study(root / "studies" / "ct_tiny", HU, seed=3)
    rois = json.loads((root / "rois" / "ct_plain.json").read_text())
    rois["rois"][0]["radii"] = [1, 1]  # 4 pixels (the centre is between pixels)
    (root / "rois" / "ct_tiny.json").write_text(json.dumps(rois))
    _copy_phantom(mr_t1_sagittal_phantom(), root, "mr_t1")
    _copy_phantom(mr_t2_axial_phantom(), root, "mr_t2")
    _set_tags(root / "studies" / "mr_t1", MagneticFieldStrength="3", RepetitionTime="600", EchoTime="12")
    (root / "studies" / "broken").mkdir()
    (root / "studies" / "broken" / "IM1.dcm").write_text("not DICOM")
    (root / "rois" / "broken.json").write_text((root / "rois" / "ct_plain.json").read_text())
    studies.write_study(root / "studies" / "no_rois", HU, seed=9)
    return root


@pytest.fixture(scope="module")
def hu_model(tmp_path_factory) -> Path:
    """A model of OVCF on average HU alone (simulated cohort), saved as JSON."""
    path = tmp_path_factory.mktemp("model") / "hu_model.json"
    save_model(RiskModel(features=("hu",), adjust=(), n_bootstrap=0).fit(simulated_cohort()), path)
    return path


@pytest.fixture(scope="module")
def measured(export, tmp_path_factory) -> tuple[Path, Path, list[dict]]:
    """One batch over the export with QC pictures: (output csv, QC folder, rows)."""
    out_dir = tmp_path_factory.mktemp("measured")
    out, qc = out_dir / "out.csv", out_dir / "QC"
    run_batch(find_studies(export / "studies", roi_dir=export / "rois"), out, n_jobs=1, qc_dir=qc)
    return out, qc, _rows(out)


def _by_study(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["study"].lstrip("'"), []).append(row)
    return out


# ------------------------------------------------------------------------------------------- protocol


def test_every_row_carries_its_studys_protocol_columns(measured):
    out, _, rows = measured
    assert tuple(_rows(out)[0]) == COLUMNS and COLUMNS[-1] == "study_rows"
    by = _by_study(rows)
    plain = by["ct_plain"]
    assert {(r["kvp"], r["contrast_agent"], r["slice_thickness_mm"]) for r in plain} == {("120.0", "", "2.0")}
    assert all(r["magnetic_field_strength_t"] == r["echo_time_ms"] == "" for r in plain)
    contrast = by["ct_contrast"]
    assert {(r["kvp"], r["contrast_agent"]) for r in contrast} == {("100.0", "Iomeprol")}
    assert all(r["status"] == "ok" and "warning: contrast-enhanced CT" in r["message"] for r in contrast)
    assert all(r["message"] == "" for r in plain)
    t1 = by["mr_t1"]
    assert {(r["magnetic_field_strength_t"], r["repetition_time_ms"], r["echo_time_ms"]) for r in t1} == {
        ("3.0", "600.0", "12.0")
    }
    assert {r["magnetic_field_strength_t"] for r in by["mr_t2"]} == {"1.5"}  # the phantom's own value
    assert all(r["kvp"] == "" for r in t1)
    assert all(r[c] == "" for r in by["broken"] for c in PROTOCOL_COLUMNS)


def test_muscle_rows_carry_the_phantoms_fat_infiltration(measured):
    _, _, rows = measured
    phantom = mr_t2_axial_phantom()
    t2 = {r["label"]: r for r in _by_study(rows)["mr_t2"]}
    for label, truth in phantom.fat_percent.items():
        assert float(t2[label]["fi_percent"]) == pytest.approx(truth), label
    assert t2["DISC_L3L4"]["fi_percent"] == "" and t2["FAT_L3L4"]["fi_percent"] == ""


# ------------------------------------------------------------------------------------------------- QC


def test_qc_writes_one_png_per_measured_study_and_an_index_of_all(measured):
    _, qc, rows = measured
    measured_ok = {s for s, r in _by_study(rows).items() if r[0]["status"] == "ok"}
    pngs = {p.name for p in qc.glob("*.png")}
    assert pngs == {f"{s}.png" for s in measured_ok}
    for png in qc.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (qc / "index.html").read_text(encoding="utf-8")
    for study in (*measured_ok, "broken", "no_rois"):
        assert html.escape(study) in page, study
    assert ODD_NAME not in page and html.escape(ODD_NAME) in page, "names are escaped"
    assert "SYNTHETIC" not in page and "ID-" not in page and "PHANTOM" not in page, "no identifiers"
    order = [page.index(f"<td>{html.escape(s)}</td>") for s in ("broken", "ct_dense", "mr_t1")]
    assert order == sorted(order), "failed studies first, then flagged ones, then the rest"


def test_qc_flags_tiny_regions_implausible_hu_and_reversed_levels(measured):
    _, qc, _ = measured
    flags = {r["study"]: r["flags"] for r in read_records(qc)}
    assert any("tiny region (4 pixels)" in f for f in flags["ct_tiny"])
    assert sum("HU 1600 outside -300..1500" in f for f in flags["ct_dense"]) == 4
    # the generated CTs put L1 lowest (z grows with the slice, L1 first): flagged as on the wrong level
    assert "wrong level by position: L1 is not above L2" in flags["ct_plain"]
    assert flags["mr_t1"] == [] and flags["mr_t2"] == [], "the phantoms' anatomy is right"


def test_quality_flags_by_hand():
    def region(label, z, n=100, value=120.0):
        return QcRegion(label, 0, (), (), value, "HU", n, z)

    good = [region("L1", 30.0), region("L2", 0.0), region("L3", -30.0)]
    assert quality_flags("CT", good, {"hu": 120.0}) == ()
    swapped = [region("L1", 0.0), region("L2", 30.0), region("L3", -30.0)]
    assert quality_flags("CT", swapped, {}) == ("wrong level by position: L1 is not above L2",)
    assert quality_flags("CT", [region("L1", None, n=0)], {}) == ("L1: empty region",)
    assert quality_flags("MR", [], {"vbq": 12.0}) == ("VBQ 12.00 outside 0.5..10",)
    assert quality_flags("MR", [region("L1", None, value=5000.0)], {"vbq": 3.0}) == ()  # SI: no HU range
    assert level_number("T12") == 12 and level_number("L1") == 13 and level_number("DISC_L3L4") is None


def test_a_rerun_draws_the_pictures_missing_for_studies_done_earlier(export, tmp_path):
    out, qc = tmp_path / "out.csv", tmp_path / "QC"
    found = find_studies(export / "studies", roi_dir=export / "rois")
    run_batch(found, out, n_jobs=1)  # no QC the first time
    before = out.read_bytes()
    summary = run_batch(found, out, n_jobs=1, qc_dir=qc)
    assert summary.skipped == 7 and summary.measured == 0
    ok_lines = [line for line in before.split(b"\r\n") if b",ok," in line]
    after = out.read_bytes().split(b"\r\n")
    assert after[: len(ok_lines) + 1] == [before.split(b"\r\n")[0], *ok_lines], "kept byte for byte"
    keys = [(r["study"], r["label"]) for r in _rows(out)]
    assert len({study for study, _ in keys}) == 9 and len(keys) == len(set(keys)), "nothing twice"
    assert len(list(qc.glob("*.png"))) == 7 and (qc / "index.html").is_file()


# ----------------------------------------------------------------------------------------------- risk


def _by_hand(model_path: Path, hu: float, prevalence: float | None) -> tuple[float, float, float]:
    """Probability and 95% CI from the model file's coefficients: logit = b0 + b1 hu (+ prior offset)."""
    data = json.loads(model_path.read_text())
    model = load_model(model_path)
    b, cov = np.asarray(model.coef_), np.asarray(model.cov_)
    x = np.array([1.0, hu])
    offset = 0.0
    if prevalence is not None:
        offset = math.log(prevalence / (1 - prevalence)) - math.log(model.n_cases_ / model.n_controls_)
    logit = float(x @ b) + offset
    se = math.sqrt(float(x @ cov @ x))
    expit = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    assert data  # the file was read
    return expit(logit), expit(logit - 1.959963984540054 * se), expit(logit + 1.959963984540054 * se)


def test_risk_file_has_one_row_per_study_with_the_probability_computed_by_hand(measured, hu_model, tmp_path):
    out, _, _ = measured
    copy = tmp_path / "out.csv"
    shutil.copy(out, copy)
    path, _ = write_risk(copy, load_model(hu_model), prevalence=0.1)
    assert path == tmp_path / "out.risk.csv" == risk_path(copy)
    rows = {r["study"].lstrip("'"): r for r in _rows(path)}
    assert tuple(_rows(path)[0]) == RISK_COLUMNS
    assert sorted(rows) == sorted([*(s for s in _by_study(_rows(copy)))])
    plain = rows["ct_plain"]
    assert float(plain["hu"]) == pytest.approx(np.mean(list(HU.values())))
    p, low, high = _by_hand(hu_model, 130.0, 0.1)
    assert float(plain["probability"]) == pytest.approx(p, rel=1e-12)
    assert (float(plain["ci_low"]), float(plain["ci_high"])) == pytest.approx((low, high), rel=1e-12)
    assert "not a medical device" in plain["note"]
    assert rows["broken"]["probability"] == "" and rows["broken"]["note"].startswith("study failed: ")
    assert rows["no_rois"]["note"].startswith("study failed: ") and "no ROI file" in rows["no_rois"]["note"]
    assert rows["mr_t1"]["probability"] == "" and "the model needs hu, not measured" in rows["mr_t1"]["note"]
    assert float(rows["mr_t1"]["vbq"]) == pytest.approx(np.median([320, 330, 345, 360]) / 100)
    assert rows["ct_dense"]["probability"] == "" and "outside the plausible range" in rows["ct_dense"]["note"]


def test_risk_file_gives_rcsa_and_fi_from_the_t2_phantoms_truth(measured, hu_model, tmp_path):
    out, _, _ = measured
    copy = tmp_path / "out.csv"
    shutil.copy(out, copy)
    _, risks = write_risk(copy, load_model(hu_model))
    t2 = next(r for r in risks if r.study == "mr_t2")
    phantom = mr_t2_axial_phantom()
    fi = [v for k, v in phantom.fat_percent.items()]
    assert t2.indicators["fi"] == pytest.approx(np.mean(fi))
    ratios = []
    for level in ("L3L4", "L4L5"):
        for side in ("L", "R"):
            muscles = sum(phantom.area_mm2[f"{m}_{side}_{level}"] for m in ("PM", "MF", "ES"))
            ratios.append(muscles / phantom.area_mm2[f"DISC_{level}"])
    assert t2.indicators["rcsa"] == pytest.approx(np.mean(ratios))


def test_a_model_needing_age_says_the_images_do_not_give_it(measured, tmp_path):
    out, _, _ = measured
    copy = tmp_path / "out.csv"
    shutil.copy(out, copy)
    model = RiskModel(features=("hu",), adjust=("age",), n_bootstrap=0).fit(simulated_cohort())
    _, risks = write_risk(copy, model)
    plain = next(r for r in risks if r.study == "ct_plain")
    assert plain.probability is None and "the model needs age, which the images do not give" in plain.note


def test_cli_batch_with_model_qc_and_prevalence(export, hu_model, tmp_path):
    out, qc, summary = tmp_path / "res.csv", tmp_path / "QC", tmp_path / "summary.json"
    result = run_cli(
        "batch", export / "studies", "--roi-dir", export / "rois", "-o", out, "--jobs", "2",
        "--qc-dir", qc, "--model", hu_model, "--prevalence", "0.1", "--json", summary, "--quiet",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # two studies fail on purpose
    assert "Traceback" not in result.stderr
    assert "1 study(ies) in" in result.stderr and "contrast-enhanced CT" in result.stderr
    assert "4 of 9 studies have a probability" in result.stderr
    data = json.loads(summary.read_text())
    assert data["risk"] == {"path": str(tmp_path / "res.risk.csv"), "studies": 9, "with_probability": 4}
    assert (qc / "index.html").is_file() and len(list(qc.glob("*.png"))) == 7


def test_cli_refuses_prevalence_without_model_and_a_bad_model_before_any_work(export, tmp_path):
    out = tmp_path / "res.csv"
    alone = run_cli(
        "batch", export / "studies", "--roi-dir", export / "rois", "-o", out, "--prevalence", "0.1"
    )
    assert alone.returncode == 2 and "--prevalence needs --model" in alone.stderr and not out.exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    broken = run_cli("batch", export / "studies", "--roi-dir", export / "rois", "-o", out, "--model", bad)
    assert broken.returncode == 2 and "Traceback" not in broken.stderr and not out.exists()
    assert len(broken.stderr.strip().splitlines()) == 1


def test_risk_rows_are_the_same_on_dask_as_with_joblib(export, hu_model, tmp_path):
    from distributed import LocalCluster

    found = find_studies(export / "studies", roi_dir=export / "rois")
    model = load_model(hu_model)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        run_batch(found, tmp_path / "dask.csv", backend=Backend.DASK, scheduler=cluster.scheduler_address)
    run_batch(found, tmp_path / "loky.csv", n_jobs=2)
    run_batch(found, tmp_path / "serial.csv", n_jobs=1)
    key = lambda r: (r["study"], r["label"])  # noqa: E731
    csvs = [sorted(_rows(tmp_path / f"{n}.csv"), key=key) for n in ("dask", "loky", "serial")]
    assert csvs[0] == csvs[1] == csvs[2]
    risks = [
        write_risk(tmp_path / f"{n}.csv", model, 0.1)[0].read_bytes() for n in ("dask", "loky", "serial")
    ]
    assert risks[0] == risks[1] == risks[2]


def test_encode_rows_keeps_study_rows_last_and_escapes_formulas():
    data = batch.encode_rows([{"study": "=cmd", "status": "ok", "contrast_agent": "+x", "kvp": 120.0}])
    cells = next(csv.reader(io.StringIO(data.decode())))
    assert len(cells) == len(COLUMNS) and cells[-1] == "1" and cells[0] == "'=cmd"
    assert cells[COLUMNS.index("contrast_agent")] == "'+x" and cells[COLUMNS.index("kvp")] == "120.0"


def test_without_a_working_png_export_the_batch_says_so_once_and_still_writes_rows_and_index(
    export, tmp_path, monkeypatch
):
    import kaleido

    def no_browser(*args, **kwargs):
        raise RuntimeError("no Chromium here")

    monkeypatch.setattr(kaleido, "write_fig_from_object_sync", no_browser)
    found = [s for s in find_studies(export / "studies", roi_dir=export / "rois") if s.name.startswith("ct_")]
    notes: list[str] = []
    summary = run_batch(found, tmp_path / "out.csv", n_jobs=1, qc_dir=tmp_path / "QC", notify=notes.append)
    assert summary.ok and summary.measured == 4
    assert notes == [
        "QC pictures not written: the PNG export (kaleido, Chromium) failed (RuntimeError: no Chromium here)"
    ]
    assert not list((tmp_path / "QC").glob("*.png")) and len(read_records(tmp_path / "QC")) == 4
    page = (tmp_path / "QC" / "index.html").read_text(encoding="utf-8")
    assert page.count("no picture") == 4
    monkeypatch.undo()
    again = run_batch(found, tmp_path / "out.csv", n_jobs=1, qc_dir=tmp_path / "QC")
    assert again.skipped == 4 and len(list((tmp_path / "QC").glob("*.png"))) == 4, "drawn when export works"
