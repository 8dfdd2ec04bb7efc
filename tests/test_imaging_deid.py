"""De-identification: planted PatientName/ID/BirthDate never reach results, JSON, logs or errors."""

from __future__ import annotations

import json
import logging

from ovcf_core.imaging import load_series, measure_series
from ovcf_core.imaging.deid import deidentify, technical_header
from ovcf_core.imaging.phantoms import PLANTED_IDENTIFIERS, ct_lumbar_phantom, mr_t2_axial_phantom
from tests.conftest import run_cli

PLANTED = [*PLANTED_IDENTIFIERS.values(), "PHANTOM^SYNTHETIC", "SYN-PID"]


def _clean(text: str) -> bool:
    return not any(p.lower() in text.lower() for p in PLANTED)


def test_phantoms_really_carry_the_planted_identifiers():
    import io

    import pydicom

    data = next(iter(ct_lumbar_phantom().files.values()))
    ds = pydicom.dcmread(io.BytesIO(data))
    assert str(ds.PatientName) == PLANTED_IDENTIFIERS["PatientName"]
    assert ds.PatientBirthDate == PLANTED_IDENTIFIERS["PatientBirthDate"]


def test_deidentify_removes_identifiers_and_private_tags_and_keeps_technical_ones():
    import io

    import pydicom

    ds = pydicom.dcmread(io.BytesIO(next(iter(ct_lumbar_phantom().files.values()))))
    ds.add_new(0x00091001, "LO", "PRIVATE PLANTED")
    deidentify(ds)
    assert _clean(repr(ds)) and "PRIVATE" not in repr(ds)
    assert technical_header(ds)["Modality"] == "CT"


def test_loaded_series_results_and_logs_hold_no_identifier(caplog, capsys, tmp_path):
    caplog.set_level(logging.DEBUG)
    phantom = mr_t2_axial_phantom()
    loaded = load_series([*phantom.uploads(), ("broken.dcm", next(iter(phantom.files.values()))[:900])])
    (series,) = loaded.series
    result = measure_series(loaded, phantom.rois)
    texts = [
        repr(loaded),
        repr(series.header),
        series.describe(),
        json.dumps(result.to_dict()),
        result.to_frame().to_csv(),
        "\n".join(loaded.messages()),
        caplog.text,
        "".join(capsys.readouterr()),
    ]
    assert all(_clean(t) for t in texts)


def test_cli_output_and_errors_hold_no_identifier(tmp_path):
    phantom = ct_lumbar_phantom()
    folder = tmp_path / "series"
    folder.mkdir()
    for name, data in phantom.files.items():
        (folder / name).write_bytes(data)
    (folder / "cut.dcm").write_bytes(next(iter(phantom.files.values()))[:1000])
    roi = tmp_path / "rois.json"
    roi.write_text(json.dumps({"rois": [r.to_dict() for r in phantom.rois]}))
    out = tmp_path / "out.json"
    ok = run_cli("measure", folder, "--roi", roi, "--json", out)
    assert ok.returncode == 0, ok.stderr
    bad_roi = tmp_path / "bad.json"
    bad_roi.write_text(
        json.dumps(
            {"rois": [{"label": "L1", "slice": 99, "shape": "ellipse", "center": [1, 1], "radii": [1, 1]}]}
        )
    )
    bad = run_cli("measure", folder, "--roi", bad_roi, "--json", "-")
    assert bad.returncode == 2
    assert all(_clean(t) for t in (ok.stdout, ok.stderr, out.read_text(), bad.stdout, bad.stderr))
