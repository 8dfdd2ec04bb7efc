"""The acquisition protocol read per series (kVp, contrast, field strength, TR/TE, ...) and in `measure`."""

from __future__ import annotations

import io
import json

import numpy as np
import pydicom
import pytest

from ovcf_core.imaging import load_series, measure_series
from ovcf_core.imaging.phantoms import dicom_slice
from ovcf_core.imaging.protocol import contrast_from, protocol_from_values, read_protocol
from tests.conftest import contract_problems, run_cli


def _slice(modality: str, k: int, **attributes: object) -> bytes:
    stored = np.full(
        (16, 16), 1100 if modality == "CT" else 300, dtype=np.int16 if modality == "CT" else np.uint16
    )
    data = dicom_slice(
        stored,
        modality=modality,
        position=(0.0, 0.0, 2.0 * k),
        series_uid="1.2.826.0.1.3680043.8.498.77",
        instance_number=k + 1,
        intercept=-1024.0 if modality == "CT" else 0.0,
    )
    dataset = pydicom.dcmread(io.BytesIO(data))
    for keyword, value in attributes.items():
        setattr(dataset, keyword, value)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _write(folder, modality: str, **attributes: object):
    folder.mkdir()
    for k in range(3):
        (folder / f"s{k}.dcm").write_bytes(_slice(modality, k, **attributes))
    return folder


CT_TAGS = {
    "KVP": "120",
    "ContrastBolusAgent": "Iohexol 350",
    "SliceThickness": "1.25",
    "ConvolutionKernel": "B30f",
    "SeriesDescription": "Abdomen venous phase",
}
MR_TAGS = {
    "MagneticFieldStrength": "3",
    "RepetitionTime": "550.5",
    "EchoTime": "9.8",
    "SequenceName": "*tse2d1_3",
    "SliceThickness": "4",
}


def test_ct_protocol_is_read_from_the_header_the_same_from_disk_and_from_memory(tmp_path):
    folder = _write(tmp_path / "ct", "CT", **CT_TAGS)
    on_disk = read_protocol(load_series(folder).pick())  # python-gdcm's scanner
    uploads = [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]
    in_memory = read_protocol(load_series(uploads).pick())  # pydicom
    assert on_disk == in_memory
    assert (on_disk.kvp, on_disk.slice_thickness_mm, on_disk.convolution_kernel) == (120.0, 1.25, "B30f")
    assert on_disk.contrast_agent == "Iohexol 350" and on_disk.contrast_enhanced is True
    assert "ContrastBolusAgent" in on_disk.contrast_evidence
    assert on_disk.magnetic_field_strength_t is None and on_disk.echo_time_ms is None
    assert "contrast-enhanced CT" in on_disk.warnings()[0]


def test_mr_protocol_has_field_strength_tr_te_and_sequence(tmp_path):
    folder = _write(tmp_path / "mr", "MR", **MR_TAGS)
    protocol = read_protocol(load_series(folder).pick())
    assert protocol.magnetic_field_strength_t == 3.0
    assert (protocol.repetition_time_ms, protocol.echo_time_ms) == (550.5, 9.8)
    assert protocol.sequence_name == "*tse2d1_3" and protocol.slice_thickness_mm == 4.0
    assert protocol.kvp is None and protocol.contrast_enhanced is None and protocol.warnings() == ()


@pytest.mark.parametrize(
    ("agent", "description", "enhanced"),
    [
        (None, "CT ABDOMEN C+ PORTAL", True),
        (None, "Thorax arterial", True),
        (None, "Abdomen KM venoes", True),
        (None, "Abdomen non-contrast", False),
        (None, "w/o contrast 1.25mm", False),
        (None, "Nativ Abdomen", False),
        (None, "LWS knochen", None),
        ("NONE", "Lumbar spine bone", None),
        ("Omnipaque", "LWS nativ", True),  # the agent attribute outranks the description
        (None, None, None),
    ],
)
def test_contrast_is_decided_by_the_agent_then_the_series_description(agent, description, enhanced):
    assert contrast_from(agent, description)[0] is enhanced


def test_unusable_header_values_become_none_not_errors():
    protocol = protocol_from_values(
        {"Modality": "CT", "KVP": "abc", "SliceThickness": "nan", "ConvolutionKernel": "  "}
    )
    assert (protocol.kvp, protocol.slice_thickness_mm, protocol.convolution_kernel) == (None, None, None)


def test_measure_json_carries_the_protocol_and_warns_about_contrast(tmp_path):
    folder = _write(tmp_path / "ct", "CT", **CT_TAGS)
    rois = tmp_path / "rois.json"
    rois.write_text(
        json.dumps(
            {"rois": [{"label": "L1", "slice": 1, "shape": "ellipse", "center": [8, 8], "radii": [3, 3]}]}
        )
    )
    assert measure_series(folder, rois)["L1"].mean == pytest.approx(76.0)
    result = run_cli("measure", folder, "--roi", rois, "--json", "-")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert contract_problems("measure", data) == []
    assert data["protocol"]["kvp"] == 120.0 and data["protocol"]["contrast_enhanced"] is True
    assert len(data["warnings"]) == 1 and "contrast-enhanced" in data["warnings"][0]
    assert "warning: contrast-enhanced CT" in result.stderr
    broken = {**data, "protocol": {**data["protocol"], "kvp": "120"}}
    assert contract_problems("measure", broken) != []
