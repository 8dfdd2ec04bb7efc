"""Untrusted uploads: kept in memory, identifiers never shown or logged, models never unpickled, exports
escaped against formula injection, zip traversal and bombs refused (DESIGN §7)."""

from __future__ import annotations

import io
import logging
import pickle
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from ovcf_core.io import read_table, sheets_to_xlsx, table_to_bytes, write_table
from tests import apptest_tools as tools
from tests.conftest import run_cli

PLANTED = (b"PLANTED^CORPUS", b"PLANTED", b"PID-CORPUS-7731")
GOOD_CT = tools.CORPUS / "good_ct"
RISKY = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "ok", "P-1"]


def _pages() -> list:
    return [pytest.param(p, id=Path(p).stem) for p in tools.page_paths()]


# ---------------------------------------------------------------- exports escape formulas


def test_csv_export_escapes_cells_that_a_spreadsheet_would_run():
    table = pd.DataFrame({"patient_id": RISKY, "hu": range(len(RISKY))})
    text = table_to_bytes(table, "csv").decode()
    back = pd.read_csv(io.StringIO(text), dtype=str)["patient_id"].tolist()
    assert back[:5] == ["'" + v for v in RISKY[:5]]
    assert back[5:] == ["ok", "P-1"]


def test_xlsx_export_stores_formula_like_text_as_text_not_formulas():
    table = pd.DataFrame({"patient_id": RISKY, "=evil": range(len(RISKY))})
    for data in (table_to_bytes(table, "xlsx"), sheets_to_xlsx({"cohort": table})):
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        cells = [c for row in sheet.iter_rows() for c in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"], "no cell may be a formula"
        assert sheet["A2"].value == "'" + RISKY[0] and sheet["B1"].value == "'=evil"


def test_formula_in_an_uploaded_table_is_escaped_when_written_back(tmp_path):
    table = read_table(tools.CORPUS / "cohort_formula_injection.csv")
    write_table(table, tmp_path / "out.csv")
    ids = pd.read_csv(tmp_path / "out.csv", dtype=str)["patient_id"]
    assert ids.iloc[-1] == '\'=HYPERLINK("http://x","y")'


def test_negative_numbers_held_as_text_are_exported_as_numbers():
    table = pd.DataFrame({"t_score": pd.Series(["-1.5", "-2,5", "0.3"], dtype="string")})
    assert table_to_bytes(table, "csv").decode().splitlines()[1:] == ["-1.5", '"-2,5"', "0.3"]


def test_batch_results_escape_formula_like_study_names(tmp_path):
    from ovcf_core.batch import Study, run_batch

    out = tmp_path / "out.csv"
    run_batch([Study("=cmd|' /C calc'!A0", tmp_path / "missing", masks=tmp_path)], out)
    assert "\n'=cmd" in out.read_text()


# ---------------------------------------------------------------- identifiers never logged


def test_measuring_a_study_logs_and_prints_no_patient_identifier(tmp_path, caplog, capsys):
    from ovcf_core.batch import find_studies, run_batch
    from tests import studies

    studies.write_study(tmp_path / "studies" / "a", {"L1": 150, "L2": 140, "L3": 130, "L4": 120})
    studies.write_masks(tmp_path / "masks" / "a")
    (tmp_path / "studies" / "b").mkdir()
    (tmp_path / "studies" / "b" / "x.dcm").write_bytes(b"broken")
    caplog.set_level(logging.DEBUG)
    run_batch(find_studies(tmp_path / "studies", mask_dir=tmp_path / "masks"), tmp_path / "out.csv")
    seen = caplog.text + "".join(capsys.readouterr()) + (tmp_path / "out.csv").read_text()
    assert studies.NAME not in seen and "ID-a" not in seen


def test_imaging_measurement_logs_no_patient_identifier(caplog, capsys):
    imaging = pytest.importorskip("ovcf_core.imaging")
    if not hasattr(imaging, "measure_series"):
        pytest.skip("ovcf_core.imaging.measure_series is not on this branch yet")
    from tests.test_bad_inputs_cli import GOOD_ROI

    caplog.set_level(logging.DEBUG)
    result = imaging.measure_series(GOOD_CT, GOOD_ROI["rois"])
    shown = repr(result.to_dict() if hasattr(result, "to_dict") else result)
    seen = (caplog.text + "".join(capsys.readouterr()) + shown).encode()
    assert not any(p in seen for p in PLANTED)


# ---------------------------------------------------------------- zip traversal and bombs


@pytest.mark.parametrize(
    "name",
    [
        "dicom_zip_traversal.zip",
        "dicom_zip_absolute_path.zip",
        "dicom_zip_bomb.zip",
        "dicom_zip_forged_size.zip",
    ],
)
def test_hostile_zip_is_refused_without_writing_anything(name, tmp_path):
    from ovcf_core.cli import COMMANDS

    if "measure" not in COMMANDS:
        pytest.skip("`ovcf measure` is not on this branch yet")
    roi = tmp_path / "roi.json"
    roi.write_text(
        '{"rois": [{"label": "L1", "slice": 0, "shape": "ellipse", "center": [8, 8], "radii": [3, 3]}]}'
    )
    work = tmp_path / "cwd"
    work.mkdir()
    before = set(Path(tempfile.gettempdir()).glob("ovcf_evil*"))
    result = run_cli("measure", tools.CORPUS / name, "--roi", roi, "--json", "-", cwd=work, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert not list(work.iterdir())
    assert set(Path(tempfile.gettempdir()).glob("ovcf_evil*")) == before
    assert not Path("/etc/ovcf_evil.dcm").exists()


# ---------------------------------------------------------------- the pages, with hostile uploads


class _Records(logging.Handler):
    """Every log record's formatted message, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs():
    """Capture the logs of the root logger and of Streamlit's loggers (which do not propagate)."""
    handler = _Records()
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    saved = [(lg, lg.level) for lg in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler.lines
    for logger, level in saved:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def sealed(tmp_path, monkeypatch):
    """Run the app from an empty folder with an empty temp folder, and record any unpickling of uploads."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    unpickled: list[bytes] = []
    real_loads = pickle.loads

    def loads(data, *args, **kwargs):
        unpickled.append(bytes(data))
        return real_loads(data, *args, **kwargs)

    monkeypatch.setattr(pickle, "loads", loads)
    return cwd, tmp, unpickled


def _repo_files() -> set[Path]:
    skip = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", "test-artifacts"}
    return {p for p in tools.ROOT.rglob("*") if p.is_file() and not skip & set(p.parts)}


def _hostile_upload_for(uploader) -> tuple[str, bytes] | None:
    """The file to attack an uploader with: DICOM with identifiers, a pickled model, or a formula table."""
    if tools.accepts(uploader, ".zip"):
        return "series.zip", tools.dicom_zip(GOOD_CT)
    if tools.accepts(uploader, ".dcm"):
        return "slice00.dcm", (GOOD_CT / "slice00.dcm").read_bytes()
    if tools.accepts(uploader, ".json"):
        return "model.json", (tools.CORPUS / "model_pickle_named_json.json").read_bytes()
    if tools.accepts(uploader, ".csv"):
        return "cohort.csv", (tools.CORPUS / "cohort_formula_injection.csv").read_bytes()
    return None


@pytest.mark.parametrize("page", _pages())
def test_page_keeps_uploads_in_memory_and_never_shows_or_logs_an_identifier(page, sealed, all_logs):
    cwd, tmp, unpickled = sealed
    repo_before = _repo_files()
    with tools.recorded_media() as media:
        at = tools.open_page(page)
        assert not at.exception, at.exception
        for index in range(len(at.file_uploader)):
            attack = _hostile_upload_for(at.file_uploader[index])
            if attack is None:
                continue
            name, data = attack
            at = tools.upload(at, index, name, data)
            assert not at.exception, f"{page}: {name}: {at.exception}"
            unpickled_uploads = [u for u in unpickled if u == data]
            assert not unpickled_uploads, f"{page} unpickled the uploaded {name}"
            for button in at.download_button:
                button.click()
            at = at.run()
        shown = tools.shown_bytes(at) + b"".join(media)
    assert not any(p in shown for p in PLANTED), f"{page} shows or offers a DICOM identifier"
    assert all_logs, "the log capture saw Streamlit's debug logging"
    logged = "\n".join(all_logs).encode()
    assert not any(p in logged for p in PLANTED), f"{page} logged a DICOM identifier"
    assert not list(cwd.iterdir()), f"{page} wrote {list(cwd.iterdir())}"
    assert not list(tmp.iterdir()), f"{page} wrote to the temp folder: {list(tmp.iterdir())}"
    assert _repo_files() == repo_before, f"{page} wrote into the repository"


@pytest.mark.parametrize("page", _pages())
def test_downloads_of_every_page_escape_formula_cells(page, sealed):
    with tools.recorded_media() as media:
        at = tools.open_page(page)
        for index in range(len(at.file_uploader)):
            if tools.accepts(at.file_uploader[index], ".csv"):
                data = (tools.CORPUS / "cohort_formula_injection.csv").read_bytes()
                at = tools.upload(at, index, "cohort.csv", data)
        assert not at.exception
    for blob in media:
        if blob.startswith(b"PK\x03\x04"):
            try:
                book = openpyxl.load_workbook(io.BytesIO(blob))
            except Exception:  # a zip that is not a workbook (e.g. a report bundle)
                continue
            formulas = [
                c.coordinate for s in book for row in s.iter_rows() for c in row if c.data_type == "f"
            ]
            assert not formulas, f"{page}: formula cells in a download: {formulas[:5]}"
        else:
            text = blob.decode("utf-8", errors="replace")
            assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text, f"{page}: unescaped formula"
