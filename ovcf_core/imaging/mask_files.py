"""Read mask files onto a loaded series: NIfTI (nibabel) and DICOM SEG (`seg.read_seg`).

A source is a path, a folder (TotalSegmentator's one file per structure, or one multi-label file or SEG)
or uploaded bytes.

`read_label_map` is the one entry point; what the labels mean, how a mask must fit the series and the
`LabelMap` it returns are in `ovcf_core.imaging.label_maps`. The reading lives apart from those types so
that the SEG reader (which builds a `LabelMap`) and this dispatcher (which calls it) import in one
direction only.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ovcf_core.imaging.label_maps import (
    CODE,
    LABEL_SCHEMES,
    LABELS,
    MAX_MASK_VOXELS,
    LabelMap,
    MaskError,
    canonical_name,
    fit_to_series,
    series_geometry,
)
from ovcf_core.imaging.seg import read_seg
from ovcf_core.imaging.series import Series

LabelTable = Mapping[int, str] | str | None
"""What a multi-label file's values mean: value -> source name, a scheme name, or None (look for one)."""


def _load_nifti(name: str, data: bytes | None, path: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(3-D array, RAS affine) of one NIfTI file; MaskError naming it when unreadable or not 3-D."""
    import nibabel as nib
    from nibabel.spatialimages import SpatialImage

    try:
        if path is not None:
            image = nib.load(str(path))
        else:
            assert data is not None
            raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            image = (
                nib.Nifti1Image.from_bytes(raw)
                if raw[344:348] != b"n+2\0"
                else nib.Nifti2Image.from_bytes(raw)
            )
        if not isinstance(image, SpatialImage):  # e.g. GIFTI: no voxel grid
            raise TypeError(type(image).__name__)
        shape = tuple(int(v) for v in image.shape)
        if math.prod(shape) > MAX_MASK_VOXELS:
            raise MaskError(f"has {math.prod(shape)} voxels, more than a series may have", file=name)
        if len(shape) == 4 and shape[3] == 1:
            shape = shape[:3]
        if len(shape) != 3:
            raise MaskError(
                f"is a {len(shape)}-D image ({'×'.join(map(str, image.shape))}); a 3-D mask is expected",
                file=name,
            )
        array = np.asanyarray(image.dataobj).reshape(shape)
        affine = np.asarray(image.affine, dtype=float)
    except MaskError:
        raise
    except Exception as exc:  # nibabel and gzip raise many types for a damaged or non-NIfTI file
        raise MaskError(f"is not a readable NIfTI mask ({type(exc).__name__})", file=name) from None
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise MaskError("has no usable voxel-to-patient affine (sform/qform)", file=name)
    return array, affine


def _ras_to_lps(affine: np.ndarray) -> np.ndarray:
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine


def _is_nifti_name(name: str) -> bool:
    return name.lower().endswith((".nii", ".nii.gz"))


def _stem(name: str) -> str:
    base = Path(name).name
    for suffix in (".nii.gz", ".nii", ".dcm"):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def _value_table(labels: LabelTable, name: str, path: Path | None, values: set[int]) -> dict[int, str]:
    """Value -> canonical label of a multi-label file, from `labels`, a sidecar JSON or the file name."""
    if isinstance(labels, str):
        if labels.lower() not in LABEL_SCHEMES:
            raise MaskError(f"unknown label scheme '{labels}' (known: {', '.join(LABEL_SCHEMES)})", file=name)
        return dict(LABEL_SCHEMES[labels.lower()])
    if labels is None and path is not None:
        sidecar = path.with_name(_stem(path.name) + ".json")
        if sidecar.is_file():
            labels = _label_table(lambda: sidecar.read_text(encoding="utf-8"), sidecar.name)
    if labels is None:
        single = canonical_name(_stem(name))
        if single is not None and len(values) == 1:  # one structure per file, named by the file
            return {next(iter(values)): single}
        raise MaskError(
            f"holds labels {_list(values)} but no label table says what they are: give one "
            '(a sidecar JSON {"1": "vertebrae_L1", ...} or a scheme: ' + ", ".join(LABEL_SCHEMES) + ")",
            file=name,
        )
    table = {}
    for value, source_name in labels.items():
        canonical = canonical_name(str(source_name))
        if canonical is not None:
            table[int(value)] = canonical
    return table


def _list(values: Iterable[int], most: int = 8) -> str:
    items = sorted(values)
    text = ", ".join(str(v) for v in items[:most])
    return text + (f" and {len(items) - most} more" if len(items) > most else "")


def _integer_labels(array: np.ndarray, name: str) -> np.ndarray:
    """Return the array as non-negative whole numbers; MaskError when it holds fractions or negatives."""
    if array.dtype.kind == "b":
        return array.astype(np.uint8)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise MaskError("holds non-integer values: a label map (whole numbers) is expected", file=name)
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise MaskError(f"holds {array.dtype} values: a label map (whole numbers) is expected", file=name)
    if array.size and array.min() < 0:
        raise MaskError("holds negative values: a label map is expected", file=name)
    return array


def _place(
    out: np.ndarray,
    files: dict[str, str],
    notes: list[str],
    fitted: np.ndarray,
    table: dict[int, str],
    name: str,
) -> None:
    """Write the canonical codes of `fitted` (values per `table`) into `out`.

    The first claim to a voxel stays, and a voxel claimed twice is counted in `notes`.
    """
    flat_out = out.reshape(-1)
    flat_in = fitted.reshape(-1)
    labelled = np.flatnonzero(flat_in)  # a mask covers a small part of the series: work on its voxels
    values = flat_in[labelled]
    for value, canonical in table.items():
        where = labelled[values == value]
        if not where.size:
            continue
        if canonical in files:
            raise MaskError(f"gives {canonical} twice (also in {files[canonical]})", file=name)
        free = flat_out[where] == 0
        if not free.all():
            notes.append(
                f"{name}: {int((~free).sum())} voxel(s) of {canonical} already belong to another label"
            )
        flat_out[where[free]] = CODE[canonical]
        files[canonical] = name


@dataclass(frozen=True)
class _File:
    name: str
    path: Path | None = None
    data: bytes | None = None


def _folder_niftis(folder: Path) -> list[Path]:
    """List the NIfTI files of a mask folder, sorted: its own, else those of its ``segmentations/`` folder.

    TotalSegmentator writes one file per structure into ``segmentations/`` under the folder it is given.
    """
    inner = folder / "segmentations"
    look = inner if inner.is_dir() and not any(folder.glob("*.nii*")) else folder
    return [p for p in sorted(look.iterdir()) if p.is_file() and _is_nifti_name(p.name)]


def _nifti_files(source: Any) -> tuple[str, list[_File], bool]:
    """(source name, files, whether a folder of one file per structure) of a mask source."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            files = [_File(p.name, path=p) for p in _folder_niftis(path)]
            if not files:
                raise MaskError("holds no NIfTI mask (.nii or .nii.gz)", file=path.name)
            return path.name, files, True
        if not path.is_file():
            raise MaskError("does not exist", file=path.name)
        return path.name, [_File(path.name, path=path)], False
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], bytes):
        return str(source[0]), [_File(str(source[0]), data=source[1])], False
    if isinstance(source, Iterable):
        files = [_File(str(n), data=d) for n, d in source if _is_nifti_name(str(n))]
        if not files:
            raise MaskError("no NIfTI mask (.nii or .nii.gz) among the files", file="the masks")
        return "the masks", files, True
    raise MaskError(f"a mask must be a file, a folder or (name, bytes), not {type(source).__name__}")


def _read_nifti(source: Any, series: Series, labels: LabelTable, names: Iterable[str] | None) -> LabelMap:
    """Read NIfTI masks (a file, a folder of one file per structure, uploads) as `read_label_map` says."""
    wanted = set(LABELS if names is None else names)
    source_name, files, per_structure = _nifti_files(source)
    out = np.zeros((len(series), series.rows, series.columns), dtype=np.uint8)
    found: dict[str, str] = {}
    empty: dict[str, str] = {}
    notes: list[str] = []
    if per_structure:
        named = [(f, canonical_name(_stem(f.name))) for f in files]
        chosen = [(f, c) for f, c in named if c is not None and c in wanted]
        if not chosen:
            looked_for = "" if names is None else f" of {', '.join(n for n in LABELS if n in wanted)}"
            raise MaskError(
                f"holds no mask{looked_for} (named as TotalSegmentator does, e.g. vertebrae_L1.nii.gz, "
                "autochthon_left.nii.gz, spinal_canal.nii.gz)",
                file=source_name,
            )
        for file, canonical in chosen:
            array, affine = _load_nifti(file.name, file.data, file.path)
            if not np.any(array):  # TotalSegmentator writes an empty file for a structure out of view
                empty[canonical] = file.name
                continue
            fitted = fit_to_series(array != 0, _ras_to_lps(affine), series, file.name)
            _place(out, found, notes, fitted.astype(np.uint8), {1: canonical}, file.name)
        if not found:
            raise MaskError(
                f"is empty: no voxel is labelled in {', '.join(sorted(empty.values()))} "
                "(too small to measure)",
                file=source_name,
            )
    else:
        (file,) = files
        array, affine = _load_nifti(file.name, file.data, file.path)
        array = _integer_labels(array, file.name)
        values = set(np.unique(array).tolist()) - {0}
        if not values:
            raise MaskError("is empty: no voxel is labelled", file=file.name)
        table = {v: c for v, c in _value_table(labels, file.name, file.path, values).items() if c in wanted}
        if not set(table) & values:
            raise MaskError(
                f"holds labels {_list(values)}, none of them a structure this tool measures", file=file.name
            )
        fitted = fit_to_series(array, _ras_to_lps(affine), series, file.name)
        _place(out, found, notes, fitted, table, file.name)
    geometry = series_geometry(series, source_name)
    return LabelMap(out, source_name, found, series.uid, geometry.spacing, tuple(notes), empty)


def read_label_map(
    source: Any,
    series: Series,
    *,
    labels: LabelTable = None,
    names: Iterable[str] | None = None,
) -> LabelMap:
    """Read masks of any supported kind (NIfTI file or folder, DICOM SEG) onto the grid of `series`.

    Parameters
    ----------
    source
        A path: a multi-label ``.nii``/``.nii.gz`` file, a DICOM SEG file, or a folder of one NIfTI file per
        structure (TotalSegmentator's output, or its ``segmentations/`` subfolder) or holding one
        multi-label NIfTI or one SEG; ``(name, bytes)`` of one upload; or a list of ``(name, bytes)``
        uploads: one NIfTI per structure, or one multi-label file (and its JSON label table).
    series
        The loaded series the masks were made on.
    labels
        For a multi-label NIfTI: value -> source name (e.g. ``{1: "vertebrae_L1"}``) or a scheme name
        (``"totalsegmentator"``, ``"musclemap"``). Default: a sidecar ``<file>.json`` or an uploaded table.
        Ignored for DICOM SEG, whose segments carry their names.
    names
        Canonical labels to read (default: all); in a folder, other files are not even opened.

    Returns
    -------
    LabelMap
        The wanted structures on the series' grid, each with the file it came from; structures whose file
        holds no voxel are listed in its `empty`, voxels dropped on reading in its `notes` (for a SEG, what
        `seg.read_seg` returns).

    Raises
    ------
    MaskError
        Unreadable, 4-D, empty, non-integer, or not on the series' grid: one clear line naming the mask (and
        the series when it does not fit).
    """
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        source = _one_file_in(Path(source))
    if isinstance(source, list):  # uploads: one multi-label file (and its JSON table) or one file each
        tables = [pair for pair in source if str(pair[0]).lower().endswith(".json")]
        masks = [pair for pair in source if not str(pair[0]).lower().endswith(".json")]
        if labels is None and len(tables) == 1:
            name, data = tables[0]
            labels = _label_table(lambda: data.decode("utf-8-sig"), name)
        if len(masks) == 1:
            source = masks[0]
        elif len(masks) > 1 and not any(canonical_name(_stem(str(n))) for n, _ in masks):
            raise MaskError(
                f"{len(masks)} files, none named after a structure: give one multi-label file, or one file "
                "per structure named as TotalSegmentator does (vertebrae_L1.nii.gz ...)",
                file="the masks",
            )
    _, head = _peek(source)
    if head is not None and len(head) >= 132 and head[128:132] == b"DICM":
        return read_seg(source, series, names=names)
    return _read_nifti(source, series, labels, names)


def _label_table(text: Callable[[], str], name: str) -> dict[int, str]:
    """Value -> source name from a JSON label table such as {"1": "vertebrae_L1"} (a sidecar or an upload).

    `text` reads the table's text; reading, decoding or parsing errors become one MaskError naming `name`.
    """
    try:
        document = json.loads(text())
        return {int(k): str(v) for k, v in document.items()}
    except (OSError, ValueError, AttributeError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise MaskError(
            'is not a label table: expected JSON such as {"1": "vertebrae_L1"}', file=name
        ) from None


def _is_dicom(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def _one_file_in(folder: Path) -> Path:
    """Choose what to read in a mask folder.

    The folder itself (one NIfTI per structure), else its only multi-label NIfTI, else its only DICOM SEG.
    """
    niftis = _folder_niftis(folder)
    if any(canonical_name(_stem(p.name)) for p in niftis):
        return folder
    if len(niftis) == 1:
        return niftis[0]
    if niftis:
        return folder  # refused there, naming the folder
    segs = [p for p in sorted(folder.iterdir()) if p.is_file() and _is_dicom(p)]
    if len(segs) == 1:
        return segs[0]
    if segs:
        raise MaskError(
            f"holds {len(segs)} DICOM files; keep one DICOM SEG per mask folder", file=folder.name
        )
    raise MaskError("holds no NIfTI mask (.nii or .nii.gz) and no DICOM SEG", file=folder.name)


def _peek(source: Any) -> tuple[str, bytes | None]:
    """(name, first 132 bytes) of a one-file source; (name, None) for a folder or a list."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    return path.name, handle.read(132)
            except OSError as exc:
                raise MaskError(f"cannot be read ({exc.strerror or exc})", file=path.name) from None
        return path.name, None
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], bytes):
        return str(source[0]), source[1][:132]
    return "the masks", None
