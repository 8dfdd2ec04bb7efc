"""The Scans page's series source: a shipped synthetic phantom or an uploaded DICOM series."""

from __future__ import annotations

import hashlib

import streamlit as st

from ovcf_core import paths
from ovcf_core.errors import OvcfError
from ovcf_core.imaging import LoadedSeries, Roi, Series, load_series, loads_rois

PHANTOMS = {
    "CT axial (HU, L1–L4)": "ct_axial",
    "MR T1 sagittal (VBQ)": "mr_t1_sagittal",
    "MR T2 axial (muscles, rCSA, FI)": "mr_t2_axial",
}
LOADED = "scan_loaded"  # (digest, LoadedSeries | None, error message | None) of the current upload
GENERATION = "scan_upload_generation"  # bumped to empty both uploaders at once ("remove all")
PHANTOM_NOTE = "Synthetic phantom written by ovcf_core.imaging.phantoms: not a real patient."


@st.cache_resource(show_spinner=False)
def load_phantom(name: str) -> tuple[LoadedSeries, tuple[Roi, ...]]:
    """Load a shipped synthetic phantom series and its ROI file (once per server)."""
    folder = paths.SAMPLE_DICOM / name
    return load_series(folder / "series"), loads_rois((folder / "rois.json").read_bytes(), "rois.json")


def load_upload(files: list) -> tuple[LoadedSeries | None, str | None]:
    """Parse the uploaded series once per upload and keep it in this session only (never on disk)."""
    digest = hashlib.blake2b(digest_size=16)
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.getvalue())
    key = digest.hexdigest()
    cached = st.session_state.get(LOADED)
    if cached is None or cached[0] != key:
        try:
            loaded, error = load_series([(f.name, f.getvalue()) for f in files]), None
        except OvcfError as exc:
            loaded, error = None, str(exc)
        st.session_state[LOADED] = (key, loaded, error)
    return st.session_state[LOADED][1], st.session_state[LOADED][2]


def remove_all_button(count: int, generation: int) -> None:
    """Draw one button that removes every uploaded file (both uploaders) instead of one click per file."""
    if st.button(
        f"Remove all {count} uploaded file(s)", icon=":material/delete_sweep:", key="scan_remove_uploads"
    ):
        st.session_state[GENERATION] = generation + 1
        st.session_state.pop(LOADED, None)
        st.rerun()


def choose_series() -> tuple[Series | None, tuple[Roi, ...], bool]:
    """Choose a phantom or an upload (no sidebar); return (series, default ROIs, synthetic?)."""
    generation = st.session_state.get(GENERATION, 0)
    files = st.file_uploader(
        "Upload a DICOM series (a .zip, or several .dcm files)",
        accept_multiple_files=True,
        key=f"scan_upload_{generation}",
        help="Files stay in memory for this session; patient identifiers are removed on load.",
    )
    with st.expander("…or upload a whole DICOM folder"):
        folder = st.file_uploader(
            "DICOM folder",
            accept_multiple_files="directory",
            key=f"scan_upload_folder_{generation}",
            label_visibility="collapsed",
        )
    count = len(files or []) + len(folder or [])
    files = files or folder
    if files:
        remove_all_button(count, generation)
        loaded, error = load_upload(files)
        if error:
            st.error(error)
        elif loaded is not None:
            for message in loaded.messages():
                st.warning(f"Skipped {message}")
            if loaded.series:
                if len(loaded.series) > 1:
                    st.info(f"{len(loaded.series)} series found in the upload: pick one.")
                index = st.selectbox(
                    "Series",
                    range(len(loaded.series)),
                    format_func=lambda i: loaded.series[i].describe(),
                    key="scan_series",
                )
                return loaded.series[index], (), False
            names = ", ".join(f.name for f in files)
            st.error(f"No usable DICOM image in {names[:200]} (see the messages above).")
        st.caption("Showing a synthetic phantom instead.")
    name = st.radio("Synthetic phantom", list(PHANTOMS), horizontal=True, key="scan_phantom")
    loaded, rois = load_phantom(PHANTOMS[name])
    return loaded.series[0], rois, True
