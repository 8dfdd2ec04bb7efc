"""The acquisition protocol of a series: what changes the indicators measured on it.

HU depend on the tube voltage (kVp), on iodinated contrast (enhanced trabecular bone reads higher, so an
HU cut-off derived on unenhanced CT flags fewer patients), on slice thickness and on the reconstruction
kernel; VBQ depends on the field strength and on TR/TE (about 2.77 at 1.5 T against 2.20 at 3 T in one
study), so a VBQ cut-off does not transfer blindly between scanners. This module reads those attributes
from the first image of a series (python-gdcm's scanner for a file on disk, else pydicom) and says when a
CT looks contrast-enhanced. Only technical attributes are read; nothing here identifies a patient.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ovcf_core.imaging.series import Series, SliceRef
from ovcf_core.imaging.sources import DicomFile

# keyword -> (group, element) of the attributes read for the protocol
PROTOCOL_TAGS: dict[str, tuple[int, int]] = {
    "Modality": (0x0008, 0x0060),
    "SeriesDescription": (0x0008, 0x103E),
    "ContrastBolusAgent": (0x0018, 0x0010),
    "SliceThickness": (0x0018, 0x0050),
    "KVP": (0x0018, 0x0060),
    "RepetitionTime": (0x0018, 0x0080),
    "EchoTime": (0x0018, 0x0081),
    "SequenceName": (0x0018, 0x0024),
    "ScanningSequence": (0x0018, 0x0020),
    "MagneticFieldStrength": (0x0018, 0x0087),
    "ConvolutionKernel": (0x0018, 0x1210),
}

# Series descriptions that say the scan was made with (or without) intravenous contrast. "Without" wins
# when both match ("non-contrast", "w/o contrast", "native", "unenhanced", "C-").
_WITHOUT_CONTRAST = re.compile(
    r"(non[\s_-]?(contrast|con|enhanced)|w/?o[\s_-]*(contrast|con|kontrast|km)|without[\s_-]+contrast|"
    r"\bnative?\b|\bunenhanced\b|\bplain\b|\bohne\s+km\b|(^|[\s_(])c-($|[\s_)])|\bnc\b)",
    re.IGNORECASE,
)
_WITH_CONTRAST = re.compile(
    r"(contrast|kontrast|\bc\+|\+c\b|\bw/?\s*con\b|\bce\b|\benhanced\b|\barterial\b|\bvenous\b|"
    r"\bportal\b|\bportovenous\b|\bpv\b|\bnephrographic\b|\bangio\b|\bcta\b|\bkm\b|\bi\.?v\.?\b)",
    re.IGNORECASE,
)
_NO_AGENT = frozenset({"", "none", "no", "nil", "n/a", "na", "0", "-"})


@dataclass(frozen=True)
class Protocol:
    """Acquisition attributes of one series (None where the header has no usable value).

    `contrast_enhanced` is True when ContrastBolusAgent names an agent or the series description says
    contrast, False when the description says unenhanced, None when nothing says either (MR: always None);
    `contrast_evidence` says which attribute decided.
    """

    modality: str | None = None
    kvp: float | None = None
    contrast_agent: str | None = None
    contrast_enhanced: bool | None = None
    contrast_evidence: str | None = None
    slice_thickness_mm: float | None = None
    convolution_kernel: str | None = None
    magnetic_field_strength_t: float | None = None
    repetition_time_ms: float | None = None
    echo_time_ms: float | None = None
    sequence_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return plain values for JSON (every key present, None where unknown)."""
        return asdict(self)

    def warnings(self) -> tuple[str, ...]:
        """Return what a reader of the indicators must know: a contrast-enhanced CT (HU read high)."""
        if self.modality == "CT" and self.contrast_enhanced:
            return (
                f"contrast-enhanced CT ({self.contrast_evidence}): trabecular HU read higher than on "
                "unenhanced CT, so published HU cut-offs (derived without contrast) under-call low bone "
                "density",
            )
        return ()


def _text(value: object) -> str | None:
    """Return one line of printable text, at most 64 characters, or None when empty."""
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):  # pydicom's MultiValue
        value = "\\".join(str(v) for v in value)
    text = " ".join(str(value).replace("\0", " ").split())[:64]
    return text or None


def _number(value: object) -> float | None:
    """Return the first value of a DS/IS attribute as a finite float, or None."""
    text = _text(value)
    if text is None:
        return None
    try:
        number = float(text.split("\\")[0])
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def contrast_from(agent: str | None, description: str | None) -> tuple[bool | None, str | None]:
    """Tell whether a CT is contrast-enhanced, and on what evidence.

    Parameters
    ----------
    agent
        ContrastBolusAgent; any value but an empty or "none"-like one means contrast (it is asked first).
    description
        SeriesDescription, searched for words meaning without (first) or with contrast.

    Returns
    -------
    tuple
        (enhanced, evidence): True/False and the attribute that says so, or (None, None) when neither
        says.
    """
    if agent is not None and agent.strip().lower() not in _NO_AGENT:
        return True, f"ContrastBolusAgent '{agent}'"
    if description:
        if _WITHOUT_CONTRAST.search(description):
            return False, f"SeriesDescription '{description}'"
        if _WITH_CONTRAST.search(description):
            return True, f"SeriesDescription '{description}'"
    return None, None


def protocol_from_values(values: dict[str, object]) -> Protocol:
    """Build a Protocol from attribute values by keyword (as pydicom or the gdcm scanner give them).

    Parameters
    ----------
    values
        Attribute values by DICOM keyword (`PROTOCOL_TAGS`); absent or unreadable ones become None.

    Returns
    -------
    Protocol
        CT-only attributes (kVp, contrast, kernel) are None for MR and MR-only ones for CT.
    """
    modality = _text(values.get("Modality"))
    agent = _text(values.get("ContrastBolusAgent"))
    description = _text(values.get("SeriesDescription"))
    enhanced, evidence = contrast_from(agent, description) if modality == "CT" else (None, None)
    is_mr = modality == "MR"
    return Protocol(
        modality=modality,
        kvp=_number(values.get("KVP")) if modality == "CT" else None,
        contrast_agent=agent,
        contrast_enhanced=enhanced,
        contrast_evidence=evidence,
        slice_thickness_mm=_number(values.get("SliceThickness")),
        convolution_kernel=_text(values.get("ConvolutionKernel")) if modality == "CT" else None,
        magnetic_field_strength_t=_number(values.get("MagneticFieldStrength")) if is_mr else None,
        repetition_time_ms=_number(values.get("RepetitionTime")) if is_mr else None,
        echo_time_ms=_number(values.get("EchoTime")) if is_mr else None,
        sequence_name=(_text(values.get("SequenceName")) or _text(values.get("ScanningSequence")))
        if is_mr
        else None,
    )


def _scan_file(path: str) -> dict[str, object] | None:
    """Read the protocol attributes of one file on disk with python-gdcm's scanner (None if unavailable)."""
    try:
        import gdcm
    except ImportError:
        return None
    gdcm.Trace.WarningOff()
    gdcm.Trace.ErrorOff()
    scanner = gdcm.Scanner()
    tags = {keyword: gdcm.Tag(*numbers) for keyword, numbers in PROTOCOL_TAGS.items()}
    for tag in tags.values():
        scanner.AddTag(tag)
    if not scanner.Scan([path]) or not scanner.IsKey(path):
        return None
    return {keyword: scanner.GetValue(path, tag) for keyword, tag in tags.items()}


def _read_file(file: DicomFile) -> dict[str, object]:
    """Read the protocol attributes of one file: gdcm for a file on disk, else pydicom ({} if unreadable)."""
    if file.path is not None and file.data is None:
        scanned = _scan_file(str(file.path))
        if scanned is not None:
            return scanned
    import pydicom

    try:
        with file.open() as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(handle, stop_before_pixels=True, specific_tags=list(PROTOCOL_TAGS))
    except Exception:  # the file was read a moment ago by the header pass; if not now, report nothing
        return {}
    return {keyword: dataset.get(keyword) for keyword in PROTOCOL_TAGS}


def read_protocol(series: Series) -> Protocol:
    """Read the protocol of `series` from its first image (the attributes are per series in practice).

    Parameters
    ----------
    series
        A loaded series.

    Returns
    -------
    Protocol
        Its modality always; the other attributes None when the first image cannot be re-read.
    """
    first = next((s for s in series.slices if isinstance(s, SliceRef)), None)
    values = _read_file(first.file) if first is not None else {}
    values["Modality"] = series.modality.value
    return protocol_from_values(values)
