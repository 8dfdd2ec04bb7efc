"""Measure many studies in parallel (opportunistic screening of a PACS export), on one machine or a cluster.

Each study is a folder (or .zip) of DICOM under one studies folder. It is measured with its own ROI file
(`ROI_DIR/<folder name>.json` or `ROI_DIR/<StudyInstanceUID>.json`, as `ovcf measure`) or with
TotalSegmentator-style NIfTI masks (`MASK_DIR/<folder name or StudyInstanceUID>/vertebrae_L1.nii.gz` ...,
see `ovcf_core.vertebra_masks`). Studies run in parallel with joblib; with `backend="dask"` the same tasks
run on a Dask cluster through joblib's Dask backend. Each finished study's rows are appended to the output
CSV at once, so a rerun skips the studies already done, and a failing study becomes an `error` row instead
of stopping the batch.
"""

from __future__ import annotations

import csv
import enum
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ovcf_core.errors import InputError, OvcfError

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
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class BatchInterrupted(OvcfError):
    """The batch machinery itself failed (a worker died, the cluster went away); finished rows are kept."""


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


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did: studies measured now, skipped as already done, failed (with their messages)."""

    measured: int
    skipped: int
    failed: tuple[tuple[str, str], ...] = field(default=())
    seconds: float = 0.0
    n_jobs: int = 1
    backend: str = Backend.LOKY

    @property
    def ok(self) -> bool:
        """True when no study failed."""
        return not self.failed

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return {
            "measured": self.measured,
            "skipped": self.skipped,
            "failed": [{"study": s, "message": m} for s, m in self.failed],
            "seconds": self.seconds,
            "n_jobs": self.n_jobs,
            "backend": str(self.backend),
        }


def _study_uid(source: Path) -> str | None:
    """StudyInstanceUID of the first readable DICOM header in a study folder (None if there is none)."""
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


def find_studies(
    studies_dir: str | Path, *, roi_dir: str | Path | None = None, mask_dir: str | Path | None = None
) -> list[Study]:
    """The studies (sub-folders and .zip files) of `studies_dir`, each matched to its ROI file or masks."""
    studies_dir = Path(studies_dir)
    if not studies_dir.is_dir():
        raise InputError("is not a folder of studies", file=studies_dir.name)
    if (roi_dir is None) == (mask_dir is None):
        raise InputError("give either an ROI folder (--roi-dir) or a mask folder (--mask-dir)")
    for folder in (roi_dir, mask_dir):
        if folder is not None and not Path(folder).is_dir():
            raise InputError("is not a folder", file=Path(folder).name)
    sources = sorted(
        p for p in studies_dir.iterdir() if p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip")
    )
    if not sources:
        raise InputError("holds no study folders or .zip files", file=studies_dir.name)
    studies = []
    for source in sources:
        name = source.stem if source.is_file() else source.name
        if roi_dir is not None:
            roi = _match(Path(roi_dir), name, source, lambda d, key: d / f"{key}.json", Path.is_file)
            studies.append(Study(name, source, roi=roi))
        else:
            masks = _match(Path(mask_dir), name, source, lambda d, key: d / key, Path.is_dir)
            studies.append(Study(name, source, masks=masks))
    return studies


def _match(folder: Path, name: str, source: Path, candidate: Callable, exists: Callable) -> Path | None:
    """The file or folder for a study in `folder`: by folder name, else by StudyInstanceUID."""
    path = candidate(folder, name)
    if exists(path):
        return path
    uid = _study_uid(source)
    if uid:
        path = candidate(folder, uid)
        if exists(path):
            return path
    return None


def _clean_number(value: object) -> float | int | None:
    """A finite number, or None."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return int(number) if isinstance(value, int) else number


def _measure_with_rois(study: Study) -> list[dict]:
    """Rows of one study measured with its ROI file through `ovcf_core.imaging.measure_series`."""
    from ovcf_core.imaging import measure_series

    result = measure_series(study.source, study.roi)
    data = result.to_dict() if hasattr(result, "to_dict") else result
    rows = []
    for label, roi in data["rois"].items():
        rows.append(
            {
                "label": label,
                "modality": data.get("modality"),
                "unit": data.get("unit"),
                **{k: _clean_number(roi.get(k)) for k in ("mean", "sd", "n_pixels", "area_mm2", "slice")},
            }
        )
    return rows


def _measure_with_masks(study: Study, erode_mm: float) -> list[dict]:
    """Rows of one study measured with its NIfTI vertebra masks (HU of each trabecular core)."""
    from ovcf_core.vertebra_masks import measure_vertebrae

    results = measure_vertebrae(study.source, study.masks, erode_mm=erode_mm)
    return [
        {
            "label": label,
            "modality": "CT",
            "unit": "HU",
            **{k: _clean_number(v) for k, v in r.to_dict().items()},
        }
        for label, r in results.items()
    ]


def measure_study(study: Study, erode_mm: float = 3.0) -> list[dict]:
    """The output rows of one study; never raises: a failure becomes one `error` row with its message."""
    method = "roi" if study.roi is not None else "masks" if study.masks is not None else ""
    base = {"study": study.name, "method": method}
    try:
        if study.roi is None and study.masks is None:
            raise InputError(
                "no ROI file or mask folder found (looked for the folder name and the StudyInstanceUID)",
                file=study.source.name,
            )
        rows = _measure_with_rois(study) if study.roi is not None else _measure_with_masks(study, erode_mm)
        if not rows:
            raise InputError("nothing was measured", file=study.source.name)
        return [{**base, "status": Status.OK.value, "message": "", **row} for row in rows]
    except OvcfError as exc:
        message = str(exc)
    except MemoryError:
        message = "ran out of memory"
    except Exception as exc:  # one broken study must never stop the batch: report it and go on
        message = f"unexpected {type(exc).__name__}: {exc}"
    return [
        {**base, "status": Status.ERROR.value, "message": message.splitlines()[0][:500] if message else ""}
    ]


def _escape(value: object) -> object:
    """Text cells that a spreadsheet would run as a formula, prefixed with '."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def done_studies(out_csv: str | Path) -> set[str]:
    """Studies with `ok` rows in an earlier output; its error rows are dropped from the file."""
    out_csv = Path(out_csv)
    if not out_csv.is_file() or out_csv.stat().st_size == 0:
        return set()
    with out_csv.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or list(reader.fieldnames) != list(COLUMNS):
            raise InputError(
                "exists but is not the output of an earlier batch (other columns); choose another file",
                file=out_csv.name,
            )
        rows = list(reader)
    kept = [r for r in rows if r["status"] == Status.OK.value]
    if len(kept) != len(rows):
        _write_rows(out_csv, kept, mode="w")
    return {r["study"].removeprefix("'") for r in kept}


def _write_rows(out_csv: Path, rows: Iterable[dict], mode: str = "a") -> None:
    """Append rows (or rewrite the file with mode 'w'), writing the header when the file is new."""
    new = mode == "w" or not out_csv.exists() or out_csv.stat().st_size == 0
    with out_csv.open(mode, newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: _escape(row.get(k)) for k in COLUMNS})
        handle.flush()


def _results(
    studies: list[Study], n_jobs: int, backend: Backend, scheduler: str | None, erode_mm: float
) -> Iterator[list[dict]]:
    """Each study's rows as soon as it finishes, in completion order."""
    import joblib

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
                    joblib.delayed(measure_study)(s, erode_mm) for s in studies
                )
        finally:
            client.close()
        return
    if n_jobs == 1:
        for study in studies:
            yield measure_study(study, erode_mm)
        return
    yield from joblib.Parallel(n_jobs=n_jobs, backend=str(backend), return_as="generator_unordered")(
        joblib.delayed(measure_study)(s, erode_mm) for s in studies
    )


def run_batch(
    studies: list[Study],
    out_csv: str | Path,
    *,
    n_jobs: int = 1,
    backend: Backend | str = Backend.LOKY,
    scheduler: str | None = None,
    erode_mm: float = 3.0,
    progress: Callable[[int, int, str, str], None] | None = None,
) -> BatchSummary:
    """Measure the studies not yet done in `out_csv`, appending each study's rows as soon as it finishes.

    `progress(done, total, study, status)` is called after each study. Returns what was measured, skipped
    and failed; failed studies are retried by the next run.
    """
    backend = Backend(backend)
    out_csv = Path(out_csv)
    if out_csv.is_dir():
        raise InputError("is a folder; give a .csv file for the results", file=out_csv.name)
    already = done_studies(out_csv)
    todo = [s for s in studies if s.name not in already]
    start = time.perf_counter()
    failed: list[tuple[str, str]] = []
    done = 0
    try:
        for rows in _results(todo, n_jobs, backend, scheduler, erode_mm):
            done += 1
            _write_rows(out_csv, rows)
            status = rows[0]["status"]
            if status == Status.ERROR.value:
                failed.append((rows[0]["study"], rows[0]["message"]))
            if progress is not None:
                progress(done, len(todo), rows[0]["study"], status)
    except OvcfError:
        raise
    except Exception as exc:  # a worker process killed (out of memory), a lost cluster: keep what is done
        raise BatchInterrupted(
            f"the batch stopped after {done} of {len(todo)} studies ({type(exc).__name__}: {exc}); "
            f"their rows are in {out_csv.name}: run the same command again to measure the rest"
        ) from exc
    if not out_csv.exists():
        _write_rows(out_csv, [], mode="w")
    return BatchSummary(
        measured=len(todo) - len(failed),
        skipped=len(studies) - len(todo),
        failed=tuple(sorted(failed)),
        seconds=time.perf_counter() - start,
        n_jobs=n_jobs,
        backend=backend,
    )
