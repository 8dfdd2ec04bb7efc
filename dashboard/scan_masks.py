"""The Scans page's segmentation masks: read onto the series, reviewed as ROIs, measured.

NIfTI or DICOM SEG read onto the series (`label_maps`), their regions put on the image as ROIs for review (one
listed, undoable change), and what they measured as segmented.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard import scan_roi_history as history
from dashboard.scan_viewer import GOTO
from ovcf_core.errors import OvcfError
from ovcf_core.imaging import MeasureResult, Roi, Series, measure_on
from ovcf_core.imaging.label_maps import LabelMap, MaskError
from ovcf_core.imaging.mask_files import read_label_map
from ovcf_core.imaging.mask_indicators import ct_indicators, muscle_rois, vbq_rois
from ovcf_core.imaging.roi_edits import load

REGION = "scan_region"  # the region under review (its label)
MASK_GENERATION = "scan_mask_upload_generation"  # bumped to empty the mask uploader at once
MASKS = "scan_masks"  # dict: ROI store key -> MaskReview of the masks read for that series
SCHEMES = {
    'names in a sidecar .json ({"1": "vertebrae_L1", …}) or one file per structure': None,
    "TotalSegmentator (task total)": "totalsegmentator",
    "MuscleMap": "musclemap",
}


@dataclass(frozen=True)
class MaskReview:
    """Masks read onto a series: the label map, the regions derived from it, and their values as segmented.

    Attributes
    ----------
    name
        The mask file's name, or "N mask files (…)" for several.
    label_map
        The labels read from the files, on the series' own voxel grid.
    regions
        The ROIs derived from the label map (labelled as drawn ROIs), before any edit.
    as_segmented
        The indicators measured on `regions`: what the segmentation alone gives.
    method
        How the regions were taken from the masks (shown beside the values).
    notes
        The label map's notes on reading (e.g. voxels claimed by two labels).
    """

    name: str
    label_map: LabelMap
    regions: tuple[Roi, ...]
    as_segmented: MeasureResult
    method: str
    notes: tuple[str, ...] = ()

    def region(self, label: str) -> Roi | None:
        """Return the region `label` as segmented."""
        return next((r for r in self.regions if r.label == label), None)


def current(series: Series) -> MaskReview | None:
    """Return the masks read for this series in this session, if any."""
    return st.session_state.get(MASKS, {}).get(history.key(series))


def read_masks(series: Series, files: list, scheme: str | None) -> LabelMap:
    """Read the uploaded masks onto the series' grid (`mask_files.read_label_map`).

    One DICOM SEG, one multi-label NIfTI (values named by the scheme or a sidecar .json uploaded with it), or
    one NIfTI per structure named as TotalSegmentator names them.
    """
    uploads = [(f.name, f.getvalue()) for f in files]
    if not any(not name.lower().endswith(".json") for name, _ in uploads):
        raise MaskError("no mask file among the uploads (NIfTI .nii/.nii.gz or DICOM SEG .dcm)")
    return read_label_map(uploads[0] if len(uploads) == 1 else uploads, series, labels=scheme)


def mask_regions(label_map: LabelMap, series: Series) -> tuple[tuple[Roi, ...], str]:
    """Derive the regions the indicators measure (labelled as drawn ROIs: L1, CSF_L3 …) and say how.

    CT: each vertebra's mask on the middle slice of its trabecular core; T1 sagittal: the bodies and the
    CSF on the mid-sagittal slice; T2 axial: muscles, disc and fat on each mid-disc slice.
    """
    if series.modality.value == "CT":
        found = ct_indicators(label_map, series)  # regions: each trabecular core's middle section
        values = ", ".join(f"{k} {v.mean:.1f}" for k, v in found.vertebrae_hu.items())
        return found.rois, f"{found.method}: {values} HU; shown: each core's middle slice"
    if series.plane.value == "sagittal":
        rois, k = vbq_rois(label_map, series)
        return rois, f"bodies and CSF on the mid-sagittal slice {k}"
    rois, slices = muscle_rois(label_map, series)
    where = ", ".join(f"{level} on slice {k}" for level, k in slices.items())
    return rois, f"muscles, disc and fat on each mid-disc slice ({where})"


def upload_panel(series: Series, rois: list[Roi]) -> None:
    """Upload masks; reading them puts their regions on the image as ROIs in one listed change."""
    generation = st.session_state.get(MASK_GENERATION, 0)
    files = st.file_uploader(
        "Segmentation masks for this series: NIfTI (.nii, .nii.gz) or DICOM SEG (.dcm)",
        type=["nii", "gz", "dcm", "json"],
        accept_multiple_files=True,
        key=f"scan_mask_upload_{history.key(series)}_{generation}",
        help="One multi-label file, one file per structure (vertebrae_L1.nii.gz …), or a DICOM SEG. "
        "The mask must be on this series' voxel grid; nothing is resampled.",
    )
    scheme = st.selectbox("Label values", list(SCHEMES), key="scan_mask_scheme")
    if not files:
        return
    if len(files) > 1 and st.button(f"Remove all {len(files)} mask files", key="scan_mask_remove"):
        st.session_state[MASK_GENERATION] = generation + 1  # a new, empty uploader: one click for all
        st.rerun()
    if st.button(
        f"Read the masks ({len(files)} file(s)) and put their regions on the image", key="scan_mask_read"
    ):
        try:
            label_map = read_masks(series, files, SCHEMES[scheme])
            regions, method = mask_regions(label_map, series)
            as_segmented = measure_on(series, regions)
        except OvcfError as exc:
            st.error(str(exc))
            return
        masks = [f.name for f in files if not f.name.lower().endswith(".json")]
        name = masks[0] if len(masks) == 1 else f"{len(masks)} mask files ({', '.join(masks)})"[:200]
        review = MaskReview(name, label_map, regions, as_segmented, method, label_map.notes)
        st.session_state.setdefault(MASKS, {})[history.key(series)] = review
        first = min(regions, key=lambda r: (r.slice, r.label))
        st.session_state[REGION], st.session_state[GOTO] = first.label, first.slice
        short = masks[0] if len(masks) == 1 else f"{len(masks)} mask files"
        history.apply(series, load(rois, regions, f"mask {short}"))
