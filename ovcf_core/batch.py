"""Measure many studies in parallel (opportunistic screening of a PACS export), on one machine or a cluster.

Studies. Each entry of the studies folder is one study: a sub-folder, or a `.zip` file, of DICOM. Its
study id (the `study` column) is the entry's name as it is on disk: `A` for the folder `A`, `A.zip` for
the file `A.zip`, so a folder `A` and a zip `A.zip` side by side are two studies with distinct ids.

ROI files and masks. A study is measured with its own ROI file or with its masks: a folder
`MASK_DIR/<key>/` holding one NIfTI per structure (TotalSegmentator's `vertebrae_L1.nii.gz` ...), one
multi-label NIfTI (value table in a sidecar .json or `mask_labels`) or one DICOM SEG, read onto the study's
series by `ovcf_core.imaging.label_maps` and measured by `mask_indicators`: HU per vertebra on CT, VBQ on
a sagittal T1, rCSA and FI on an axial T2. The masks and ROI files are looked up in this order:

1. `ROI_DIR/<study id>.json` (`MASK_DIR/<study id>/`): `ROIS/A.json` for the folder `A`,
   `ROIS/A.zip.json` for the zip `A.zip`;
2. for a zip only, its name without `.zip` (`ROIS/A.json`) when no other entry of the studies folder has
   that short name: with both `A/` and `A.zip` present, `ROIS/A.json` belongs to the folder `A` only;
3. its StudyInstanceUID (`ROIS/<StudyInstanceUID>.json`; read from a folder's DICOM headers).

Names with control characters (a newline, a tab) or bytes that are not UTF-8 are refused: ids must survive
a round trip through the CSV, or a rerun could not recognise a study as done.

The output CSV, append-only. Studies run in parallel with joblib (`backend="dask"`: the same tasks on a
Dask cluster through joblib's Dask backend). Each finished study's rows are appended to the CSV in one
write (a write that fails half-way is cut off again), so a killed process (kill -9) keeps every study it
wrote; against a crash of the machine the file is fsynced at most every `SYNC_SECONDS` and at the end, one
fsync covering all the studies before it (never one per row). Every row carries `study_rows`, the
number of rows its study has, so a study is complete only when all of them are there. Rows are never
rewritten in place: a rerun reads the file, skips the studies complete with `ok` rows, and when something
must go (an incomplete last line or study left by a killed process, earlier `error` rows, which are
retried) it writes the rows it keeps to a temporary file in the same folder and moves it over the output
with `os.replace`; complete rows are copied byte for byte. A failing study becomes an `error` row instead
of stopping the batch; a failed write (disk full, no permission) stops it with `BatchWriteError`, whose
summary says how many studies are done and which could not be written.

Protocol and indicators. Every row carries its study's acquisition protocol (`kvp`, `contrast_agent`,
`slice_thickness_mm`, `magnetic_field_strength_t`, `repetition_time_ms`, `echo_time_ms`; empty where the
header has none, `ovcf_core.imaging.protocol`); a contrast-enhanced CT's `ok` rows say so in `message`.
Muscle rows carry `fi_percent` (fat above half the subcutaneous-fat SI at that level), so the study's FI can
be computed from the output alone. With `qc_dir` the QC pictures and index are written
(`ovcf_core.batch_qc`); `ovcf_core.batch_risk` turns the output into `OUT.risk.csv` with a model.

One writer at a time. While a batch runs, `OUT.csv.lock` beside the output holds its pid and host (and a
`flock` on it). A second batch on the same output refuses to start, naming the lock file and the pid; a
lock whose process is gone (killed) is taken over, and the caller is told so.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import errno
import glob
import io
import math
import os
import socket
import stat
import time
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ovcf_core.batch_qc import QcRegion, QcStudy, panels_for, region_z
from ovcf_core.errors import InputError, OvcfError
from ovcf_core.output import OutputError, is_regular_or_absent, output_problem, sync_folder, write_bytes

if TYPE_CHECKING:
    from ovcf_core.imaging.label_maps import LabelMap
    from ovcf_core.imaging.protocol import Protocol
    from ovcf_core.imaging.roi import Roi
    from ovcf_core.imaging.series import Series

COLUMNS: tuple[str, ...] = (
    "study",
    "status",
    "message",
    "method",
    "label",
    "modality",
    "unit",
    "mean",
    "sd",
    "n_pixels",
    "area_mm2",
    "volume_mm3",
    "slice",
    "kvp",
    "contrast_agent",
    "slice_thickness_mm",
    "magnetic_field_strength_t",
    "repetition_time_ms",
    "echo_time_ms",
    "fi_percent",
    "study_rows",
)
PROTOCOL_COLUMNS: tuple[str, ...] = COLUMNS[13:19]  # DESIGN §4b, the same on every row of a study
ROW_COLUMNS: tuple[str, ...] = COLUMNS[:-1]  # what a worker gives; `study_rows` is added when written
# earlier formats, upgraded on the next run: before `study_rows`, and before the protocol and FI columns
LEGACY_COLUMNS: tuple[str, ...] = COLUMNS[:13]
STUDY_ROWS_COLUMNS: tuple[str, ...] = (*COLUMNS[:13], "study_rows")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
LINE_END = "\r\n"
HEADER = (",".join(COLUMNS) + LINE_END).encode("ascii")
LOCK_SUFFIX = ".lock"
SYNC_SECONDS = 0.25  # fsync the output at most this often while a batch runs, and at its end

Notify = Callable[[str], None]


class BatchInterrupted(OvcfError):
    """The batch machinery itself failed (a worker died, the cluster went away); finished rows are kept."""


class BatchLocked(OutputError):
    """Another batch is writing the same output (its lock file is held)."""


class BatchWriteError(OutputError):
    """The output could not be written mid-run (disk full, ...); rows written before stay, `summary` says."""

    def __init__(self, message: str, summary: BatchSummary) -> None:
        super().__init__(message)
        self.summary = summary


class Backend(enum.StrEnum):
    """Where the studies run: local processes (joblib's loky), threads, or a Dask cluster."""

    LOKY = "loky"
    THREADING = "threading"
    DASK = "dask"


class Status(enum.StrEnum):
    """Outcome of one study."""

    OK = "ok"
    ERROR = "error"


@dataclass(frozen=True)
class Study:
    """One study to measure: its DICOM source and the ROI file or mask folder that goes with it."""

    name: str
    source: Path
    roi: Path | None = None
    masks: Path | None = None
    mask_labels: str | None = None  # a multi-label NIfTI's value table: "totalsegmentator", "musclemap"


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did: studies measured now, skipped as already done, failed (with their messages).

    `unwritten` names the studies measured but not written (a failed write stopped the batch) and
    `remaining` counts those not measured at all; both are measured by the next run.
    """

    measured: int
    skipped: int
    failed: tuple[tuple[str, str], ...] = field(default=())
    seconds: float = 0.0
    n_jobs: int = 1
    backend: str = Backend.LOKY
    unwritten: tuple[str, ...] = ()
    remaining: int = 0

    @property
    def ok(self) -> bool:
        """True when no study failed and every study's rows were written."""
        return not self.failed and not self.unwritten and not self.remaining

    @property
    def done(self) -> int:
        """Studies whose `ok` rows are complete in the output now (from this run and earlier ones)."""
        return self.measured + self.skipped

    def to_dict(self) -> dict:
        """Return plain values for JSON (the batch summary `ovcf batch --json` writes)."""
        return {
            "measured": self.measured,
            "skipped": self.skipped,
            "done": self.done,
            "failed": [{"study": s, "message": m} for s, m in self.failed],
            "unwritten": list(self.unwritten),
            "remaining": self.remaining,
            "seconds": self.seconds,
            "n_jobs": self.n_jobs,
            "backend": str(self.backend),
        }


def _study_uid(source: Path) -> str | None:
    """Return the StudyInstanceUID of the first readable DICOM header in a study folder (None if none)."""
    import pydicom

    if not source.is_dir():
        return None
    for path in sorted(p for p in source.rglob("*") if p.is_file())[:50]:
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["StudyInstanceUID"])
        except Exception:  # not DICOM, damaged: try the next file
            continue
        uid = str(header.get("StudyInstanceUID", "") or "")
        if uid:
            return uid
    return None


def _is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


def _short_name(path: Path) -> str:
    """Return a zip's name without `.zip`, or a folder's name."""
    return path.stem if _is_zip(path) else path.name


def _check_name(name: str) -> None:
    """Refuse a study id that would not survive the CSV (control characters, bytes that are not UTF-8)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        bad = True
    else:
        bad = any(ord(ch) < 32 or ord(ch) == 127 for ch in name)
    if bad:
        raise InputError(
            "has control characters or bytes that are not UTF-8 in its name; rename it",
            file=ascii(name),
        )


def find_studies(
    studies_dir: str | Path,
    *,
    roi_dir: str | Path | None = None,
    mask_dir: str | Path | None = None,
    mask_labels: str | None = None,
) -> list[Study]:
    """List the studies (sub-folders and .zip files) of `studies_dir`, each with its ROI file or masks.

    Study ids are the entry names (`A`, `A.zip`); the module docstring gives the ROI and mask lookup.

    Parameters
    ----------
    studies_dir
        The folder of studies.
    roi_dir, mask_dir
        Exactly one: the folder of ROI files (``<study>.json``) or of mask folders (``<study>/``).
    mask_labels
        The value table of multi-label NIfTI masks without a sidecar .json ("totalsegmentator" or
        "musclemap", `label_maps.LABEL_SCHEMES`).

    Returns
    -------
    list of Study
        In name order; a study without an ROI file or masks has none (it fails when measured, alone).

    Raises
    ------
    InputError
        `studies_dir` or the ROI/mask folder is not a folder, both or neither folder is given, no study
        is found, or a study's name has control characters or is not UTF-8.
    """
    studies_dir = Path(studies_dir)
    if not studies_dir.is_dir():
        raise InputError("is not a folder of studies", file=studies_dir.name)
    if (roi_dir is None) == (mask_dir is None):
        raise InputError("give either an ROI folder (--roi-dir) or a mask folder (--mask-dir)")
    for folder in (roi_dir, mask_dir):
        if folder is not None and not Path(folder).is_dir():
            raise InputError("is not a folder", file=Path(folder).name)
    sources = sorted(p for p in studies_dir.iterdir() if p.is_dir() or _is_zip(p))
    if not sources:
        raise InputError("holds no study folders or .zip files", file=studies_dir.name)
    for source in sources:
        _check_name(source.name)
    short = Counter(_short_name(p) for p in sources)
    studies = []
    for source in sources:
        keys = [source.name]
        if _is_zip(source) and short[source.stem] == 1:
            keys.append(source.stem)
        if roi_dir is not None:
            roi = _match(Path(roi_dir), keys, source, lambda d, key: d / f"{key}.json", Path.is_file)
            studies.append(Study(source.name, source, roi=roi))
        else:
            assert mask_dir is not None  # exactly one of roi_dir and mask_dir is given (checked above)
            masks = _match(Path(mask_dir), keys, source, lambda d, key: d / key, Path.is_dir)
            studies.append(Study(source.name, source, masks=masks, mask_labels=mask_labels))
    return studies


def _match(folder: Path, keys: list[str], source: Path, candidate: Callable, exists: Callable) -> Path | None:
    """Find a study's file or folder in `folder`: by its keys (id, short name), else by StudyInstanceUID."""
    for key in keys:
        path = candidate(folder, key)
        if exists(path):
            return path
    uid = _study_uid(source)
    if uid:
        path = candidate(folder, uid)
        if exists(path):
            return path
    return None


def _clean_number(value: float | None) -> float | int | None:
    """Return a finite number (an int stays an int), or None."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return int(number) if isinstance(value, int) else number


@dataclass(frozen=True)
class StudyOutcome:
    """What a worker gives back for one study: its output rows and, with `qc`, its QC picture's content."""

    rows: list[dict]
    qc: QcStudy | None = None


def _protocol_cells(protocol: Protocol | None) -> dict:
    """Return the protocol columns of a study's rows (None where the header has no value)."""
    values = protocol.to_dict() if protocol is not None else {}
    return {
        column: _clean_number(values.get(column)) if column != "contrast_agent" else values.get(column)
        for column in PROTOCOL_COLUMNS
    }


def _protocol_note(protocol: Protocol | None) -> str:
    """Return the `message` of a study's `ok` rows: the protocol's warnings (contrast-enhanced CT) or ''."""
    return "; ".join(f"warning: {w}" for w in protocol.warnings()) if protocol is not None else ""


def _protocol_text(protocol: Protocol | None) -> str:
    """Return a short technical description for the QC picture (kVp, contrast, field strength, ...)."""
    if protocol is None:
        return ""
    parts = []
    if protocol.kvp is not None:
        parts.append(f"{protocol.kvp:g} kVp")
    if protocol.contrast_enhanced:
        parts.append("contrast")
    if protocol.magnetic_field_strength_t is not None:
        parts.append(f"{protocol.magnetic_field_strength_t:g} T")
    if protocol.slice_thickness_mm is not None:
        parts.append(f"{protocol.slice_thickness_mm:g} mm")
    return ", ".join(parts)


def _measure_with_rois(study: Study, qc: bool) -> tuple[list[dict], Protocol | None, QcStudy | None]:
    """Measure one study with its ROI file, as `ovcf measure` does (`measure_on`): rows, protocol, QC.

    Each muscle ROI's row has its FI (`image_indicators`, default fat threshold) when it can be computed.
    """
    from ovcf_core.imaging import as_rois, load_series, measure_on
    from ovcf_core.imaging.image_indicators import image_indicators

    assert study.roi is not None  # measure_study sends only a study with an ROI file here
    rois = as_rois(study.roi)
    loaded = load_series(study.source)
    series = loaded.pick(None, study.source.name)
    result = measure_on(series, rois, loaded.skipped)
    fi: dict[str, float | None] = {}
    indicators: dict[str, float] = {}
    with contextlib.suppress(OvcfError):  # no FAT_<level> ROI: no FI, the other values stand
        computed = image_indicators(result)
        fi = {r.label: r.fi_percent for r in computed.rows}
        indicators = computed.values()
    data = result.to_dict()
    rows = []
    for label, roi in data["rois"].items():
        rows.append(
            {
                "label": label,
                "modality": data.get("modality"),
                "unit": data.get("unit"),
                **{k: _clean_number(roi.get(k)) for k in ("mean", "sd", "n_pixels", "area_mm2", "slice")},
                "fi_percent": _clean_number(fi.get(label)),
            }
        )
    picture = None
    if qc:
        regions = tuple(
            _roi_region(series, r, result[r.label].mean, result.unit, result[r.label].n_pixels) for r in rois
        )
        picture = QcStudy(
            study.name,
            result.modality.value,
            result.unit,
            panels_for(series, (r.slice for r in rois), result.modality.value),
            regions,
            indicators,
            _protocol_text(result.protocol),
        )
    return rows, result.protocol, picture


def _roi_region(series: Series, roi: Roi, value: float | None, unit: str, n_pixels: int) -> QcRegion:
    """Return the QC picture's region of one ROI: its outline, its value and its height in the series."""
    xs, ys = roi.outline()
    x0, x1, y0, y1 = roi.extent()
    return QcRegion(
        label=roi.label,
        slice=roi.slice,
        xs=tuple(float(x) for x in xs),
        ys=tuple(float(y) for y in ys),
        value=value,
        unit=unit,
        n_pixels=n_pixels,
        z_mm=region_z(series, roi.slice, (x0 + x1) / 2, (y0 + y1) / 2),
    )


def _fit_masks(study: Study, labels: str | None) -> tuple[Series, LabelMap]:
    """Find the study's series that its masks fit, and read the masks onto it (`read_label_map`).

    A study holding several series is tried series by series (a SEG names its series; NIfTI masks fit by
    size, affine and orientation); none fitting is the first series' refusal, which names mask and series.
    """
    from ovcf_core.imaging import load_series
    from ovcf_core.imaging.mask_files import read_label_map

    assert study.masks is not None  # measure_study sends only a study with masks here
    loaded = load_series(study.source)
    if not loaded.series:
        reasons = "; ".join(loaded.messages()[:3])
        raise InputError(
            f"holds no readable series ({reasons})" if reasons else "holds no readable series",
            file=study.source.name,
        )
    first: OvcfError | None = None
    for series in loaded.series:
        if series.ambiguous:
            first = first or InputError(series.ambiguous, file=study.source.name)
            continue
        try:
            return series, read_label_map(study.masks, series, labels=labels)
        except OvcfError as exc:
            first = first or exc
    assert first is not None
    if len(loaded.series) > 1:
        raise InputError(f"fits none of the study's {len(loaded.series)} series; the first: {first}")
    raise first


def _measure_with_masks(
    study: Study, erode_mm: float, qc: bool, labels: str | None = None
) -> tuple[list[dict], Protocol | None, QcStudy | None]:
    """Measure one study with its masks, every indicator they allow (`mask_indicators`).

    That is the HU of each vertebra's trabecular core (CT), the T1 SI of L1-L4 and CSF (VBQ), or the
    muscles' and discs' areas and FI (T2).
    """
    from ovcf_core.imaging.mask_indicators import mask_indicators
    from ovcf_core.imaging.protocol import read_protocol

    series, label_map = _fit_masks(study, labels)
    protocol = read_protocol(series)
    found = mask_indicators(label_map, series, erode_mm=erode_mm)
    modality, unit = found.image.modality, found.image.unit
    if found.vertebrae_hu:  # CT: one row per 3-D trabecular core, with its volume
        rows = [
            {"label": label, "modality": modality, "unit": unit,
             **{k: _clean_number(v) for k, v in r.to_dict().items()}}
            for label, r in found.vertebrae_hu.items()
        ]  # fmt: skip
    else:
        rows = [
            {"label": r.label, "modality": modality, "unit": unit,
             **{k: _clean_number(getattr(r, k)) for k in ("mean", "sd", "n_pixels", "area_mm2", "slice")},
             "fi_percent": _clean_number(r.fi_percent)}
            for r in found.image.rows
        ]  # fmt: skip
    picture = None
    if qc:
        by_label = {r.label: r for r in found.image.rows}
        regions = tuple(
            _roi_region(
                series,
                roi,
                by_label[roi.label].mean if roi.label in by_label else None,
                unit,
                by_label[roi.label].n_pixels if roi.label in by_label else 0,
            )
            for roi in found.rois
        )
        picture = QcStudy(
            study.name,
            modality,
            unit,
            panels_for(series, (r.slice for r in found.rois), modality),
            regions,
            found.values(),
            _protocol_text(protocol),
        )
    return rows, protocol, picture


def measure_study_outcome(study: Study, erode_mm: float = 3.0, qc: bool = False) -> StudyOutcome:
    """Measure one study: its output rows and, with `qc`, its QC picture's content.

    It never raises: one broken study must not stop the batch, so any failure (a refusal, memory, an
    unexpected error) becomes one `error` row with a one-line message.

    Parameters
    ----------
    study
        The study, with its ROI file or masks.
    erode_mm
        With masks on CT: the erosion of each vertebral body before its HU is measured.
    qc
        Also return the QC picture's content.

    Returns
    -------
    StudyOutcome
        `ok` rows with the protocol columns (one per ROI or structure), or one `error` row.
    """
    method = "roi" if study.roi is not None else "masks" if study.masks is not None else ""
    base = {"study": study.name, "method": method}
    try:
        if study.roi is None and study.masks is None:
            raise InputError(
                "no ROI file or mask folder found (looked for the folder name and the StudyInstanceUID)",
                file=study.source.name,
            )
        if study.roi is not None:
            rows, protocol, picture = _measure_with_rois(study, qc)
        else:
            rows, protocol, picture = _measure_with_masks(study, erode_mm, qc, study.mask_labels)
        if not rows:
            raise InputError("nothing was measured", file=study.source.name)
        common = {
            **base,
            "status": Status.OK.value,
            "message": _protocol_note(protocol),
            **_protocol_cells(protocol),
        }
        return StudyOutcome([{**common, **row} for row in rows], picture)
    except OvcfError as exc:
        message = str(exc)
    except MemoryError:
        message = "ran out of memory"
    except Exception as exc:  # one broken study must never stop the batch: report it and go on
        message = f"unexpected {type(exc).__name__}: {exc}"
    error = {
        **base,
        "status": Status.ERROR.value,
        "message": message.splitlines()[0][:500] if message else "",
    }
    return StudyOutcome([error])


def measure_study(study: Study, erode_mm: float = 3.0) -> list[dict]:
    """Measure one study without QC: `measure_study_outcome`'s rows.

    Parameters
    ----------
    study, erode_mm
        As `measure_study_outcome`.

    Returns
    -------
    list of dict
        The study's output rows; a failure is one `error` row (it never raises).
    """
    return measure_study_outcome(study, erode_mm).rows


def _escape(value: object) -> object:
    """Return a cell as written: one line (CR/LF become spaces), formula-like text quoted.

    Text a spreadsheet would run as a formula, or that starts with ', gets a leading ' (so `_unescape`
    gives the one-line text back exactly).
    """
    if isinstance(value, str):
        value = value.replace("\r", " ").replace("\n", " ")
        if value.startswith((*FORMULA_PREFIXES, "'")):
            return "'" + value
    return value


def _unescape(text: str) -> str:
    """Return the text `_escape` was given."""
    return text[1:] if text.startswith("'") else text


def encode_rows(rows: list[dict]) -> bytes:
    """Encode one study's rows as CSV lines (one line per row), each with `study_rows` = len(rows).

    `study_rows` lets a resumed run tell a study written completely from one cut off mid-way.

    Parameters
    ----------
    rows
        The study's rows (`ROW_COLUMNS` keys; missing ones are empty cells).

    Returns
    -------
    bytes
        UTF-8 lines ending in `LINE_END`; formula-like text is quoted (`_escape`).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    for row in rows:
        writer.writerow([*(_escape(row.get(k)) for k in ROW_COLUMNS), len(rows)])
    return buffer.getvalue().encode("utf-8", errors="backslashreplace")


@dataclass
class _Scan:
    """What an earlier output holds: the complete studies with `ok` rows and the bytes to keep."""

    done: set[str]
    keep: bytes
    notes: list[str]
    changed: bool


def _scan(data: bytes, name: str, studies: Sequence[Study] = ()) -> _Scan:
    """Read an earlier output: complete `ok` studies are done; torn, incomplete and `error` rows go."""
    if not data:
        return _Scan(set(), b"", [], False)
    lines = data.split(b"\n")
    tail = lines.pop()  # the bytes after the last newline: empty unless the last line is torn
    if not lines:
        if HEADER.startswith(tail):  # killed while writing the header
            return _Scan(set(), b"", [f"{name}: removed an incomplete header line"], True)
        raise InputError(
            "exists but is not the output of an earlier batch (other columns); choose another file", file=name
        )
    header = lines[0].rstrip(b"\r").decode("utf-8", errors="replace").lstrip("\ufeff")
    formats = {",".join(c): c for c in (COLUMNS, STUDY_ROWS_COLUMNS, LEGACY_COLUMNS)}
    columns = formats.get(header)
    if columns is None:
        raise InputError(
            "exists but is not the output of an earlier batch (other columns); choose another file", file=name
        )
    legacy = columns == LEGACY_COLUMNS
    width = len(columns)
    notes = [f"{name}: removed an incomplete last line ({len(tail)} bytes)"] if tail else []
    records: list[tuple[str, list[str], bytes]] = []  # (study, cells, the line as in the file)
    unreadable = 0
    for raw in lines[1:]:
        try:
            fields = next(csv.reader([raw.rstrip(b"\r").decode("utf-8")]), [])
        except (UnicodeDecodeError, csv.Error):
            fields = []
        valid = len(fields) == width and bool(fields[0]) and fields[1] in (Status.OK, Status.ERROR)
        if valid and not legacy:
            valid = fields[-1].isdigit() and int(fields[-1]) >= 1
        if not valid:
            unreadable += 1
            continue
        records.append((_unescape(fields[0]), fields, raw + b"\n"))
    if unreadable:
        notes.append(f"{name}: removed {unreadable} unreadable line(s)")
    groups: dict[str, list[list[str]]] = {}
    for study, fields, _ in records:
        groups.setdefault(study, []).append(fields)
    complete = {s: legacy or all(int(f[-1]) == len(rows) for f in rows) for s, rows in groups.items()}
    if legacy and records:  # no `study_rows` to check: the last study may have lost rows, measure it again
        complete[records[-1][0]] = False
    broken = sorted(s for s, ok in complete.items() if not ok)
    if broken:
        shown = ", ".join(broken[:3]) + (f" and {len(broken) - 3} more" if len(broken) > 3 else "")
        notes.append(
            f"{name}: removed the incomplete rows of {len(broken)} study(ies) ({shown}); measured again"
        )
    done = {s for s, rows in groups.items() if complete[s] and all(f[1] == Status.OK for f in rows)}
    if columns != COLUMNS:
        return _upgrade(groups, done, name, notes, studies, columns)
    keep = lines[0] + b"\n" + b"".join(raw for study, _, raw in records if study in done)
    return _Scan(done, keep, notes, keep != data)


def _upgrade(
    groups: dict, done: set[str], name: str, notes: list[str], studies: Sequence[Study], columns: tuple
) -> _Scan:
    """Rewrite the done studies of an output of an earlier format (`columns`) in today's columns.

    Files written before `study_rows` existed get the count, and named a zip `A.zip` study `A`; that row is
    given the id `A.zip` when the studies folder has that zip and no other entry called `A`. Files written
    before the protocol and FI columns keep their rows with those cells empty (delete the output to
    measure the studies again and fill them).
    """
    legacy = columns == LEGACY_COLUMNS
    renamed: dict[str, str] = {}
    if legacy:
        ids = {s.name for s in studies}
        short = Counter(_short_name(s.source) for s in studies)
        renamed = {
            s.source.stem: s.name
            for s in studies
            if s.name.lower().endswith(".zip") and short[s.source.stem] == 1 and s.source.stem not in ids
        }
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    kept = set()
    for study in (s for s in groups if s in done):
        new = renamed.get(study, study)
        kept.add(new)
        for fields in groups[study]:
            cells = dict(zip(columns, fields, strict=True))
            cells["study"] = _escape(new) if new != study else fields[0]
            writer.writerow([*(cells.get(c, "") for c in ROW_COLUMNS), len(groups[study])])
    if legacy:
        notes.append(f"{name}: added the study_rows column (the file was written by an earlier ovcf batch)")
    notes.append(
        f"{name}: added the protocol and fi_percent columns, empty for the studies measured by an earlier "
        "ovcf batch (delete the file to measure them again)"
    )
    return _Scan(kept, HEADER + buffer.getvalue().encode("utf-8"), notes, True)


def _results(
    studies: list[Study],
    n_jobs: int,
    backend: Backend,
    scheduler: str | None,
    erode_mm: float,
    qc: bool = False,
) -> Generator[StudyOutcome, None, None]:
    """Each study's outcome (rows, and QC content with `qc`) as soon as it finishes, in completion order."""
    import joblib

    task = joblib.delayed(measure_study_outcome)
    if backend is Backend.DASK:
        try:
            from distributed import Client
        except ImportError:
            raise InputError("the Dask backend needs `pip install 'ovcf-screening[dask]'`") from None
        if not scheduler:
            raise InputError("the Dask backend needs the scheduler's address (--scheduler tcp://HOST:8786)")
        try:
            client = Client(scheduler, timeout=30)
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        try:
            with joblib.parallel_config(backend="dask"):
                yield from joblib.Parallel(n_jobs=-1, return_as="generator_unordered")(
                    task(s, erode_mm, qc) for s in studies
                )
        finally:
            client.close()
        return
    if n_jobs == 1:
        for study in studies:
            yield measure_study_outcome(study, erode_mm, qc)
        return
    yield from joblib.Parallel(n_jobs=n_jobs, backend=str(backend), return_as="generator_unordered")(
        task(s, erode_mm, qc) for s in studies
    )


def done_studies(out_csv: str | Path) -> set[str]:
    """Return the studies complete with `ok` rows in an earlier output, without changing the file.

    `run_batch` is what repairs a file (a study cut off mid-way, an earlier format).

    Parameters
    ----------
    out_csv
        The batch output.

    Returns
    -------
    set of str
        Study ids; empty when the file does not exist.
    """
    out_csv = Path(out_csv)
    if not out_csv.is_file():
        return set()
    return _scan(out_csv.read_bytes(), out_csv.name).done


def _resume(path: Path, display: str, studies: list[Study], notify: Notify) -> set[str]:
    """Return the studies done in an earlier output, repairing it (via os.replace) only when it must be."""
    for leftover in path.parent.glob(
        f".{glob.escape(path.name)}.*.part"
    ):  # a repair killed half-way; we hold the lock
        with contextlib.suppress(OSError):
            leftover.unlink()
    try:
        data = path.read_bytes() if path.exists() else b""
    except OSError as exc:
        raise OutputError(f"cannot read {display}: {exc.strerror or exc}") from None
    scan = _scan(data, display, studies)
    if scan.changed:
        try:
            write_bytes(path, scan.keep)  # through a temporary file and os.replace, mode kept
        except OutputError as exc:
            raise OutputError(f"cannot repair {display}: {str(exc).rpartition(': ')[2]}") from None
    for note in scan.notes:
        notify(note)
    return scan.done


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return True
    return True


class OutputLock:
    """`OUT.csv.lock` beside a batch output, so that one batch at a time writes it.

    The file holds the owner's pid and host and is `flock`ed while held. It is taken when it does not
    exist (O_CREAT|O_EXCL) or when its owner is gone (not flocked and its pid no longer runs on this
    host); otherwise `BatchLocked` names the lock file and the pid.
    """

    def __init__(self, out_csv: Path, notify: Notify | None = None) -> None:
        self.path = out_csv.with_name(out_csv.name + LOCK_SUFFIX)
        self.output = out_csv
        self.notify = notify or (lambda _message: None)
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        """Take the lock (`acquire`)."""
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Let go of the lock (`release`), whatever happened in the block."""
        self.release()

    def _owner(self, fd: int) -> tuple[int, str] | None:
        """Return the (pid, host) written in the lock file, or None when it is empty or garbled."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid, host = os.pread(fd, 4096, 0).decode("utf-8").split()[:2]
            return int(pid), host
        return None

    def _refuse(self, owner: tuple[int, str] | None) -> BatchLocked:
        who = "another ovcf batch"
        if owner:
            who += f" (pid {owner[0]}" + (f" on {owner[1]})" if owner[1] != socket.gethostname() else ")")
        return BatchLocked(
            f"{self.path}: {who} is writing {self.output}; wait for it to finish, "
            f"or delete {self.path} if no batch is running"
        )

    def acquire(self) -> None:
        """Take the lock, taking over one whose owner is gone.

        Raises
        ------
        BatchLocked
            Another batch holds it (naming the lock file and its pid), or the lock file keeps changing.
        OutputError
            The lock file cannot be opened or written.
        """
        for _attempt in range(10):
            created = True
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                created = False
                try:
                    fd = os.open(self.path, os.O_RDWR)
                except FileNotFoundError:  # released in between: try again
                    continue
                except OSError as exc:
                    raise OutputError(
                        f"cannot open the lock file {self.path}: {exc.strerror or exc}"
                    ) from None
            except OSError as exc:
                raise OutputError(f"cannot create the lock file {self.path}: {exc.strerror or exc}") from None
            try:
                if self._take(fd, created):
                    self._fd = fd
                    return
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        raise BatchLocked(f"{self.path}: the lock file keeps changing; is another batch starting?")

    def _take(self, fd: int, created: bool) -> bool:
        """Lock `fd` and write our pid; False when the file was replaced meanwhile (try again)."""
        flocked = _flock(fd)
        if flocked is None:
            raise self._refuse(self._owner(fd))
        if flocked:
            try:
                if os.stat(self.path).st_ino != os.fstat(fd).st_ino:
                    return False
            except FileNotFoundError:
                return False
        if not created:
            owner = self._owner(fd)
            me = (os.getpid(), socket.gethostname())
            if owner is None:
                if not flocked:  # no flock here: an empty file may be a batch starting
                    raise self._refuse(None)
            elif self._live(owner, me, flocked):
                raise self._refuse(owner)
            else:
                self.notify(f"took over the stale lock {self.path} (pid {owner[0]} is no longer running)")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
            os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            raise OutputError(f"cannot write the lock file {self.path}: {exc.strerror or exc}") from None
        return True

    @staticmethod
    def _live(owner: tuple[int, str], me: tuple[int, str], flocked: bool) -> bool:
        """Tell whether the lock's owner may still run.

        Another host's pid cannot be checked; our own pid in a file nobody flocks is an old lock whose pid
        was reused.
        """
        if owner[1] != me[1]:
            return True
        if owner[0] == me[0]:
            return not flocked
        return _pid_alive(owner[0])

    def release(self) -> None:
        """Remove the lock file (if it is still ours) and let go of it."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
                os.unlink(self.path)
        os.close(self._fd)
        self._fd = None


def _flock(fd: int) -> bool | None:
    """Lock `fd` with flock: True when taken, None when another process holds it, False if unsupported."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return False
        raise
    return True


class _WriteFailed(Exception):
    """A write or fsync of the output failed; `lost` names the studies whose rows were cut off again."""

    def __init__(self, error: OSError, lost: list[str]) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error
        self.lost = lost


class _Appender:
    """The output opened for appending: each study's rows in one write (whole, or cut off again).

    A killed process keeps every write it made (the kernel holds it), so kill -9 needs no fsync; against a
    crash of the machine the file is fsynced at most every SYNC_SECONDS and at the end (group commit: one
    fsync covers every study written before it, so a slow disk does not slow the batch).
    """

    def __init__(self, path: Path, display: str) -> None:
        self.pending: list[str] = []  # studies written since the last good fsync
        self.last_sync = time.monotonic()
        existed = path.exists()
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot write {display}: {exc.strerror or exc}") from None
        self.regular = stat.S_ISREG(os.fstat(self.fd).st_mode)
        self.synced = os.fstat(self.fd).st_size if self.regular else 0
        if not self.regular or self.synced == 0:
            try:
                self._write(HEADER)
                error, _ = self._sync()
                if error:
                    raise error
            except OSError as exc:
                self._cut(0)
                self.close()
                if not existed:
                    with contextlib.suppress(OSError):
                        path.unlink()
                raise OutputError(f"cannot write {display}: {exc.strerror or exc}") from None
            if not existed:
                sync_folder(path.parent)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            if written <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]

    def _cut(self, size: int) -> None:
        """Cut the file back to `size` bytes (best effort: the next run repairs what is left)."""
        if self.regular:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, size)
                os.fsync(self.fd)

    def _sync(self) -> tuple[OSError | None, list[str]]:
        """fsync: (None, []) when done, else the error and the studies whose rows were cut off again."""
        if self.regular:
            try:
                os.fsync(self.fd)
            except OSError as exc:
                self._cut(self.synced)
                lost, self.pending = self.pending, []
                return exc, lost
            self.synced = os.fstat(self.fd).st_size
        self.pending = []
        self.last_sync = time.monotonic()
        return None, []

    def append(self, data: bytes, study: str) -> None:
        """Append one study's rows in one write; raises _WriteFailed naming the studies not written."""
        start = os.fstat(self.fd).st_size if self.regular else 0
        try:
            self._write(data)
        except BaseException as exc:  # a full disk, or Ctrl-C half-way through: no torn rows left behind
            self._cut(start)
            if not isinstance(exc, OSError):
                raise
            _, lost = self._sync()
            raise _WriteFailed(exc, [*lost, study]) from None
        self.pending.append(study)
        if time.monotonic() - self.last_sync >= SYNC_SECONDS:
            self.finish()

    def finish(self) -> None:
        """Sync what was written to disk; raise _WriteFailed naming the studies cut off when that fails."""
        error, lost = self._sync()
        if error:
            raise _WriteFailed(error, lost)

    def close(self) -> None:
        """Close the file (call `finish` first: errors here are ignored)."""
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


def _check_ids(studies: list[Study]) -> None:
    """Refuse two studies with one id: their rows could not be told apart."""
    seen: dict[str, Study] = {}
    for study in studies:
        if study.name in seen:
            raise InputError(
                f"two studies have the id {study.name!r} ({seen[study.name].source} and {study.source}); "
                "their rows could not be told apart"
            )
        seen[study.name] = study


def run_batch(
    studies: list[Study],
    out_csv: str | Path,
    *,
    n_jobs: int = 1,
    backend: Backend | str = Backend.LOKY,
    scheduler: str | None = None,
    erode_mm: float = 3.0,
    progress: Callable[[int, int, str, str], None] | None = None,
    notify: Notify | None = None,
    qc_dir: str | Path | None = None,
) -> BatchSummary:
    """Measure the studies not yet done in `out_csv`, appending each study's rows as soon as it finishes.

    A study that fails is one `error` row and is retried by the next run; the output is locked while the
    batch runs, so two batches cannot interleave their rows.

    Parameters
    ----------
    studies
        The studies (`find_studies`); those complete in `out_csv` already are skipped.
    out_csv
        The output CSV (created, resumed or repaired; a device such as /dev/null is written only).
    n_jobs, backend, scheduler
        Workers, where they run (`Backend`), and with Dask the scheduler's address (required).
    erode_mm
        With masks on CT: the erosion of each vertebral body before its HU is measured.
    progress
        ``progress(done, total, study, status)``, called after each study's rows are on disk.
    notify
        ``notify(text)``, given what was repaired or taken over, and problems with the QC pictures.
    qc_dir
        With it, every study measured gets `QC/<study>.png` and a record (`ovcf_core.batch_qc`); studies
        done earlier without one are measured again for their picture only (their rows stay as they
        are), and `QC/index.html` lists them all.

    Returns
    -------
    BatchSummary
        What was measured, skipped and failed.

    Raises
    ------
    OutputError
        The output cannot be written, read or repaired (`BatchLocked`: another batch holds it;
        `BatchWriteError`: a write failed mid-run, with the summary so far).
    InputError
        `erode_mm` is negative or not finite, two studies have one id, or the Dask backend has no
        scheduler address or cannot reach it.
    BatchInterrupted
        The batch machinery failed (a worker died, the cluster went away); finished rows are kept.
    """
    backend = Backend(backend)
    notify = notify or (lambda _message: None)
    display = str(out_csv)
    problem = output_problem(display, stdout_ok=False)
    if problem:
        raise OutputError(problem)
    if not (isinstance(erode_mm, int | float) and math.isfinite(erode_mm) and erode_mm >= 0):
        raise InputError(f"the erosion must be a finite number of mm, 0 or more (got {erode_mm!r})")
    _check_ids(studies)
    path = Path(os.path.realpath(out_csv))
    regular = is_regular_or_absent(path)  # a device (/dev/null) is written, never read back or locked
    with OutputLock(path, notify) if regular else contextlib.nullcontext():
        already = _resume(path, display, studies, notify) if regular else set()
        todo = [s for s in studies if s.name not in already]
        pictures = None
        if qc_dir is not None:
            pictures = _Pictures(Path(qc_dir), notify)
            pictures.redo = {s.name for s in studies if s.name in already and not pictures.has(s.name)}
            todo += [s for s in studies if s.name in pictures.redo]
        try:
            summary = _run(
                studies, todo, path, display, n_jobs, backend, scheduler, erode_mm, progress, pictures
            )
        finally:
            if pictures is not None:
                pictures.flush()
        if pictures is not None:
            pictures.index(summary.failed)
        return summary


class _Pictures:
    """QC pictures collected from the workers, written in groups of FLUSH (one browser session each)."""

    FLUSH = 50

    def __init__(self, folder: Path, notify: Notify) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the QC folder {folder}: {exc.strerror or exc}") from None
        self.folder = folder
        self.notify = notify
        self.redo: set[str] = set()  # studies done earlier, measured again for their picture only
        self.pending: list[QcStudy] = []

    def has(self, study: str) -> bool:
        from ovcf_core.batch_qc import RECORD_SUFFIX, file_stem

        stem = file_stem(study)  # a record without its picture (the export failed) is drawn again
        return (self.folder / f"{stem}{RECORD_SUFFIX}").is_file() and (self.folder / f"{stem}.png").is_file()

    def add(self, picture: QcStudy | None) -> None:
        if picture is not None:
            self.pending.append(picture)
        if len(self.pending) >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        from ovcf_core.batch_qc import write_qc_images

        pending, self.pending = self.pending, []
        try:
            problems = write_qc_images(self.folder, pending)
        except OSError as exc:
            problems = [f"QC pictures not written in {self.folder}: {exc.strerror or exc}"]
        except Exception as exc:  # a QC drawing bug must not stop the measurements: name it and go on
            problems = [f"QC pictures not drawn: unexpected {type(exc).__name__}: {exc}"]
        for problem in dict.fromkeys(problems):
            self.notify(problem)

    def index(self, failed: Sequence[tuple[str, str]]) -> None:
        from ovcf_core.batch_qc import write_index

        try:
            write_index(self.folder, failed)
        except (OSError, OutputError) as exc:
            self.notify(f"QC index not written in {self.folder}: {exc}")


def _run(
    studies: list[Study],
    todo: list[Study],
    path: Path,
    display: str,
    n_jobs: int,
    backend: Backend,
    scheduler: str | None,
    erode_mm: float,
    progress: Callable[[int, int, str, str], None] | None,
    pictures: _Pictures | None = None,
) -> BatchSummary:
    """Measure `todo`, appending each study's rows; the lock is held by the caller.

    Studies in `pictures.redo` are done already: only their QC picture is kept.
    """
    start = time.perf_counter()
    redo = pictures.redo if pictures is not None else set()
    todo_rows = [s for s in todo if s.name not in redo]
    written: dict[str, str] = {}  # study -> "" when ok, else its error message

    def summary(unwritten: tuple[str, ...] = ()) -> BatchSummary:
        failed = tuple(sorted((s, m) for s, m in written.items() if m))
        return BatchSummary(
            measured=len(written) - len(failed),
            skipped=len(studies) - len(todo_rows),
            failed=failed,
            seconds=time.perf_counter() - start,
            n_jobs=n_jobs,
            backend=backend,
            unwritten=unwritten,
            remaining=len(todo_rows) - len(written) - len(unwritten),
        )

    def failure(exc: _WriteFailed) -> BatchWriteError:
        for study in exc.lost:
            written.pop(study, None)
        so_far = summary(tuple(exc.lost))
        names = ", ".join(exc.lost[:3]) + (f" and {len(exc.lost) - 3} more" if len(exc.lost) > 3 else "")
        which = (
            f"the rows of {names} were"
            if len(exc.lost) == 1
            else f"the rows of {len(exc.lost)} studies ({names}) were"
        )
        return BatchWriteError(
            f"cannot write {display}: {exc}; {which} not written. "
            f"{so_far.done} of {len(studies)} studies are done in {display} "
            f"({so_far.measured} measured now, {so_far.skipped} earlier), {len(so_far.failed)} failed, "
            f"{so_far.remaining} not measured: run the same command again once {display} can be written",
            so_far,
        )

    appender = _Appender(path, display)
    results = _results(todo, n_jobs, backend, scheduler, erode_mm, qc=pictures is not None)
    try:
        for outcome in results:
            rows = outcome.rows
            study, status = rows[0]["study"], rows[0]["status"]
            if study in redo:  # done earlier: its picture only
                if pictures is not None:
                    pictures.add(outcome.qc)
                continue
            appender.append(encode_rows(rows), study)
            written[study] = rows[0]["message"] if status == Status.ERROR.value else ""
            if pictures is not None:
                pictures.add(outcome.qc)
            if progress is not None:
                progress(len(written), len(todo_rows), study, status)
        appender.finish()
    except _WriteFailed as exc:
        raise failure(exc) from None
    except OvcfError:
        raise
    except Exception as exc:  # a worker process killed (out of memory), a lost cluster: keep what is done
        try:
            appender.finish()
        except _WriteFailed as failed:
            raise failure(failed) from None
        raise BatchInterrupted(
            f"the batch stopped after {len(written)} of {len(todo_rows)} studies "
            f"({type(exc).__name__}: {exc}); "
            f"the rows of those {len(written)} are in {display}: run the same command again for the rest"
        ) from exc
    finally:
        results.close()
        appender.close()
    return summary()
