"""DICOM SEG out and in (highdicom): a label map as a binary Segmentation referencing its source series.

Writing: one segment per canonical label present (SegmentLabel = the canonical name, e.g. ``L1``,
``PM_L``, ``CSF``), BINARY, frames referencing the source images (SOPInstanceUIDs, StudyInstanceUID and
FrameOfReferenceUID kept so a PACS files the SEG with its study). Patient identifiers are removed from the
copy of each source header first (`deid.deidentify`): the SEG holds none unless `keep_identifiers` is set
for sending it back to the PACS it came from.

Reading: `highdicom.seg.segread` (BINARY, LABELMAP, or FRACTIONAL taken as inside where the fraction is at
least 0.5), the segments mapped to canonical labels through their SegmentLabel
(`label_maps.LABEL_TABLE`), then placed on the series' grid by geometry (`label_maps.fit_to_series`); a
SEG may omit empty frames. A SEG that references another series (ReferencedSeriesSequence) is refused.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ovcf_core.imaging.label_maps import (
    CODE,
    DISCS,
    LABELS,
    LabelMap,
    MaskError,
    canonical_name,
    describe_series,
    fit_to_series,
    series_geometry,
)
from ovcf_core.imaging.roi import Roi
from ovcf_core.imaging.series import Series, SliceRef

MAX_SEG_BYTES = 2 * 2**30
"""Largest DICOM SEG file read (a binary SEG of a 1000-slice 512×512 series with 20 segments is ~650 MB)."""


_PATIENT_STUDY_KEYWORDS = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
)


def _codes(name: str) -> tuple[Any, Any]:
    """(segmented property category, type) codes of a canonical label (SNOMED CT, DICOM CID 7150/7151)."""
    from pydicom.sr.codedict import codes

    sct = codes.SCT
    if name == "CSF":
        return sct.Tissue, sct.CerebrospinalFluid
    if name == "FAT":
        return sct.Tissue, sct.AdiposeTissue
    if name in DISCS:
        key = name.removeprefix("DISC_") + "Disc"
        return sct.AnatomicalStructure, getattr(sct, key, sct.AnatomicalStructure)
    if name.startswith("ES_"):
        return sct.AnatomicalStructure, sct.ErectorSpinaeMuscle
    if "_" in name:  # other muscles: psoas major, multifidus, autochthon, iliopsoas
        return sct.AnatomicalStructure, sct.Muscle
    return sct.AnatomicalStructure, getattr(sct, f"{name}Vertebra", sct.Vertebra)


def _source_datasets(series: Series, keep_identifiers: bool) -> tuple[list[Any], list[int]]:
    """Headers (no pixels) of the series' slices that have an image, and their slice indices."""
    import pydicom

    from ovcf_core.imaging.deid import deidentify

    datasets, indices = [], []
    for k, slot in enumerate(series.slices):
        if not isinstance(slot, SliceRef):
            continue
        with slot.file.open() as handle:
            dataset = pydicom.dcmread(handle, stop_before_pixels=True)
        if not keep_identifiers:
            deidentify(dataset)
        for keyword in _PATIENT_STUDY_KEYWORDS:  # highdicom copies these; empty when removed or absent
            if keyword not in dataset:
                setattr(dataset, keyword, None)
        datasets.append(dataset)
        indices.append(k)
    return datasets, indices


def write_seg(
    label_map: LabelMap | Iterable[Roi],
    series: Series,
    path: str | Path | None = None,
    *,
    description: str = "OVCF regions",
    algorithm: str | None = None,
    keep_identifiers: bool = False,
) -> bytes:
    """Write `label_map` as a binary DICOM SEG referencing `series`; returns the file's bytes.

    Parameters
    ----------
    label_map
        The regions, on the series' grid (e.g. after review and correction), or ROIs (DESIGN §4.4; canonical
        or indicator labels such as ``L1``, ``PM_L_L3L4``, ``CSF_L3``), painted onto an empty map first.
    series
        The source series (its files are re-read for their headers).
    path
        Where to write the file as well (optional).
    description
        ContentDescription / SeriesDescription of the SEG.
    algorithm
        Name of the segmentation tool when the regions are (semi)automatic, e.g. ``"TotalSegmentator"``;
        None (default) marks the segments MANUAL.
    keep_identifiers
        Keep the source's patient identifiers (for sending the SEG back to its PACS); default False.

    Returns
    -------
    bytes
        The DICOM SEG file.

    Raises
    ------
    MaskError
        An empty map, a map of another series, or regions on a slice with no image.
    """
    import highdicom as hd

    if not isinstance(label_map, LabelMap):
        from ovcf_core.imaging.label_maps import empty_label_map
        from ovcf_core.imaging.mask_outlines import rois_to_label_map

        label_map = rois_to_label_map(list(label_map), empty_label_map(series, "ROIs"))
    if label_map.series_uid != series.uid or label_map.data.shape != (
        len(series),
        series.rows,
        series.columns,
    ):
        raise MaskError(f"was not read onto the {describe_series(series)}", file=label_map.source)
    names = list(label_map.labels)
    if not names:
        raise MaskError("is empty: no region to write as DICOM SEG", file=label_map.source)
    datasets, indices = _source_datasets(series, keep_identifiers)
    lost = [k for k in range(len(series)) if k not in set(indices) and label_map.data[k].any()]
    if lost:
        raise MaskError(
            f"has regions on slice(s) {', '.join(map(str, lost))}, which have no image to reference",
            file=label_map.source,
        )
    frames = label_map.data[indices]
    numbering = np.zeros(256, dtype=np.uint8)  # canonical code -> segment number (label-map style)
    for number, name in enumerate(names, start=1):
        numbering[CODE[name]] = number
    pixels = numbering[frames]
    algorithm_type = "MANUAL" if algorithm is None else "SEMIAUTOMATIC"
    identification = None
    if algorithm is not None:
        from pydicom.sr.codedict import codes

        identification = hd.AlgorithmIdentificationSequence(
            name=algorithm[:64], family=codes.cid7162.ArtificialIntelligence, version="unknown"
        )
    descriptions = []
    for number, name in enumerate(names, start=1):
        category, kind = _codes(name)
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=name,
                segmented_property_category=category,
                segmented_property_type=kind,
                algorithm_type=algorithm_type,
                algorithm_identification=identification,
            )
        )
    try:
        seg = _segmentation(datasets, pixels, descriptions, description)
    except (ValueError, TypeError, AttributeError) as exc:  # highdicom's checks of the source headers
        raise MaskError(
            f"cannot be written as DICOM SEG on the {describe_series(series)}: {exc}", file=label_map.source
        ) from None
    buffer = io.BytesIO()
    seg.save_as(buffer)
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _segmentation(
    source_images: list[Any], pixels: np.ndarray, descriptions: list[Any], description: str, **options: Any
) -> Any:
    """Build a highdicom SEG of `pixels` (frames of `source_images`) as this tool writes one.

    New UIDs, this tool as manufacturer and `description` (cut to 64 characters) as its content and series
    description; BINARY unless `options` say otherwise (e.g. ``segmentation_type=FRACTIONAL`` with
    ``max_fractional_value``), and highdicom's checks of the source headers raise as highdicom raises.
    """
    import highdicom as hd

    from ovcf_core import __version__

    options.setdefault("segmentation_type", hd.seg.SegmentationTypeValues.BINARY)
    return hd.seg.Segmentation(
        source_images=source_images,
        pixel_array=pixels,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=999,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="ovcf-screening (research tool, not a medical device)",
        manufacturer_model_name="ovcf-screening",
        software_versions=str(__version__),
        device_serial_number="0",
        content_description=description[:64],
        content_label="OVCF_REGIONS",
        series_description=description[:64],
        **options,
    )


def _open_seg(source: Any) -> tuple[str, Any]:
    """(name, highdicom Segmentation) of a SEG path or (name, bytes); MaskError when it is not one."""
    import highdicom as hd

    if isinstance(source, (str, Path)):
        path = Path(source)
        name = path.name
        try:
            if path.stat().st_size > MAX_SEG_BYTES:
                raise MaskError(f"is larger than {MAX_SEG_BYTES // 2**30} GB: not read", file=name)
            handle: Any = str(path)
        except OSError as exc:
            raise MaskError(f"cannot be read ({exc.strerror or exc})", file=name) from None
    elif isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], bytes):
        name, handle = str(source[0]), io.BytesIO(source[1])
    else:
        raise MaskError(f"a DICOM SEG must be a file or (name, bytes), not {type(source).__name__}")
    try:
        return name, hd.seg.segread(handle)
    except Exception as exc:  # pydicom and highdicom raise many types for a damaged or non-SEG file
        raise MaskError(
            f"is not a readable DICOM SEG ({type(exc).__name__}: {str(exc)[:120]})", file=name
        ) from None


def read_seg(source: Any, series: Series, *, names: Iterable[str] | None = None) -> LabelMap:
    """Read a DICOM SEG onto the grid of `series`.

    Parameters
    ----------
    source
        The SEG file (path) or ``(name, bytes)`` of an upload.
    series
        The loaded series it was made on.
    names
        Canonical labels to read (default: every segment whose label is in the label table).

    Returns
    -------
    LabelMap
        The known segments on the series' grid (a FRACTIONAL segment where it is at least 0.5); a voxel
        claimed by two segments keeps the first, and a note says how many were claimed twice.

    Raises
    ------
    MaskError
        Unreadable, another series, no known segment, empty, or off the series' grid (one line naming
        the file and, on a misfit, the series).
    """
    name, seg = _open_seg(source)
    wanted = set(LABELS if names is None else names)
    referenced = {
        str(item.SeriesInstanceUID)
        for item in getattr(seg, "ReferencedSeriesSequence", [])
        if "SeriesInstanceUID" in item
    }
    if referenced and series.uid not in referenced:
        raise MaskError(
            f"was made on another series (ReferencedSeriesSequence), not on the {describe_series(series)}",
            file=name,
        )
    table: dict[int, str] = {}
    for number in seg.segment_numbers:
        label = str(seg.get_segment_description(number).segment_label)
        canonical = canonical_name(label)
        if canonical is not None and canonical in wanted:
            if canonical in table.values():
                raise MaskError(f"has two segments for {canonical}", file=name)
            table[number] = canonical
    if not table:
        labels = [str(seg.get_segment_description(n).segment_label) for n in seg.segment_numbers]
        raise MaskError(
            f"has no segment of a structure this tool measures (segments: {', '.join(labels) or 'none'})",
            file=name,
        )
    numbers = sorted(table)
    try:
        volume = seg.get_volume(segment_numbers=numbers, combine_segments=False, allow_missing_positions=True)
    except Exception as exc:  # not a regular 3-D stack (highdicom raises RuntimeError / ValueError)
        raise MaskError(f"is not a regular stack of frames ({str(exc)[:120]})", file=name) from None
    array = np.asarray(volume.array)
    if array.ndim == 3:
        array = array[..., np.newaxis]
    series_geometry(series, name)  # an unevenly spaced series is refused before fitting
    out = np.zeros((len(series), series.rows, series.columns), dtype=np.uint8)
    files: dict[str, str] = {}
    notes: list[str] = []
    fractional = str(getattr(seg, "SegmentationType", "")).upper() == "FRACTIONAL"
    cut = 0.5 if fractional else 0  # a FRACTIONAL segment (rescaled to 0..1) counts where it is at least half
    for position, number in enumerate(numbers):
        inside = array[..., position] >= cut if fractional else array[..., position] > cut
        fitted = fit_to_series(inside, volume.affine, series, name, partial=True)
        if not fitted.any():
            continue
        canonical = table[number]
        taken = fitted & (out != 0)
        if taken.any():
            notes.append(
                f"{name}: {int(taken.sum())} voxel(s) of {canonical} already belong to another segment"
            )
        out[fitted & (out == 0)] = CODE[canonical]
        files[canonical] = name
    if not files:
        raise MaskError("is empty: no voxel is labelled", file=name)
    return LabelMap(out, name, files, series.uid, series_geometry(series, name).spacing, tuple(notes))
