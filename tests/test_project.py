"""Project files (ovcf_core.project): a round trip keeps every part; broken, hostile or oversized files are
refused with one line naming the member or field, and nothing is ever unpickled."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import pandas as pd
import pytest

from ovcf_core import paths, project
from ovcf_core.errors import InputError
from ovcf_core.imaging import Roi, Shape, dumps_rois, loads_rois
from ovcf_core.model.persistence import model_from_dict, model_to_dict
from ovcf_core.model.shipped import load_shipped_model
from ovcf_core.project import Project, ProjectTable, read_project, write_project


@pytest.fixture(scope="module")
def saved() -> tuple[Project, bytes]:
    cohort = pd.read_csv(paths.SAMPLE_COHORT)
    rois = (Roi(label="L1", slice=3, shape=Shape.ELLIPSE, center=(40.0, 50.0), radii=(10.0, 8.0)),)
    work = Project(
        tables={
            "cohort": ProjectTable.from_frame(cohort, "my_cohort.csv (156 usable rows)", synthetic=False)
        },
        models={"fitted": model_to_dict(load_shipped_model())},
        rois={"series_1": dumps_rois(rois)},
        settings={
            "analysis": {"outcome": "ovcf", "markers": ["hu", "vbq"], "adjust": ["age"], "pair": None},
            "calculator": {"hu": 80.5, "sex": "F", "fractured": ["L2"]},
            "roi_keys": {"series_1": "upload:1.2.3.4"},
        },
    )
    return work, write_project(work)


def _zip(members: dict[str, bytes | str], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _index(**changes) -> str:
    index = {
        "format": "ovcf-project",
        "schema_version": 1,
        "tables": {},
        "models": {},
        "rois": {},
        "settings": {},
    }
    index.update(changes)
    return json.dumps(index)


def test_round_trip_keeps_tables_models_rois_and_settings(saved):
    work, data = saved
    back = read_project(data, "p.zip")
    assert back.settings == work.settings
    assert back.tables["cohort"] == work.tables["cohort"]
    pd.testing.assert_frame_equal(
        pd.read_csv(io.BytesIO(back.tables["cohort"].data)), pd.read_csv(paths.SAMPLE_COHORT)
    )
    assert back.models["fitted"] == json.loads(json.dumps(work.models["fitted"]))
    model = model_from_dict(back.models["fitted"])
    patient = {"vbq": 3.1, "hu": 100, "age": 70, "sex": "M", "bmi": 25}
    assert model.predict(patient, 0.1).probability == load_shipped_model().predict(patient, 0.1).probability
    assert loads_rois(back.rois["series_1"]) == loads_rois(work.rois["series_1"])


def test_the_file_is_a_zip_of_json_and_csv_only(saved):
    _, data = saved
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        index = json.loads(archive.read("project.json"))
    assert names == ["project.json", "tables/cohort.csv", "models/fitted.json", "rois/series_1.json"]
    assert index["format"] == "ovcf-project" and index["schema_version"] == 1
    assert index["tables"]["cohort"] == {
        "file": "tables/cohort.csv",
        "source": "my_cohort.csv (156 usable rows)",
        "synthetic": False,
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (pickle.dumps({"tables": {}}), "looks like a pickle"),
        (b"format,schema_version\n", "not a project file"),
        (b"PK\x03\x04 broken", "not a readable zip"),
        (_zip({"other.json": "{}"}), "no project.json in the zip"),
        (_zip({"project.json": "{not json"}), "project.json is not valid JSON"),
        (_zip({"project.json": _index(format="ovcf-risk-model")}), "is not an ovcf project"),
        (_zip({"project.json": _index(schema_version=7)}), "field schema_version 7 is not supported"),
        (_zip({"project.json": _index(tables=[])}), "field 'tables' must be an object"),
        (
            _zip({"project.json": _index(tables={"cohort": {"file": "tables/cohort.csv", "source": "x"}})}),
            "member tables/cohort.csv is listed in project.json but missing",
        ),
        (
            _zip(
                {
                    "project.json": _index(tables={"cohort": {"file": "../../etc/passwd"}}),
                    "../../etc/passwd": "x",
                }
            ),
            "field tables.cohort.file '../../etc/passwd' is not tables/cohort.csv",
        ),
        (
            _zip({"project.json": _index(models={"../evil": {"file": "models/../evil.json"}})}),
            "model name '../evil' is not a short plain name",
        ),
        (
            _zip(
                {
                    "project.json": _index(models={"fitted": {"file": "models/fitted.json"}}),
                    "models/fitted.json": "[1]",
                }
            ),
            "member models/fitted.json is not a JSON object",
        ),
        (
            _zip({"project.json": _index(settings={"x": float("nan")}).replace("NaN", "NaN")}),
            "the non-number 'NaN' is not allowed",
        ),
    ],
)
def test_broken_files_are_refused_with_one_line_naming_the_member_or_field(data, message):
    with pytest.raises(InputError) as caught:
        read_project(data, "p.zip")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_zip_bomb_is_refused_before_it_is_expanded():
    bomb = _zip(
        {
            "project.json": _index(tables={"cohort": {"file": "tables/cohort.csv"}}),
            "tables/cohort.csv": b"0" * (50 * 1024 * 1024),
        }
    )
    assert len(bomb) < 200_000
    with pytest.raises(
        InputError, match=r"member tables/cohort.csv expands more than 200 times \(a zip bomb\?\)"
    ):
        read_project(bomb, "bomb.zip")


def test_a_member_whose_header_understates_its_size_is_stopped_at_the_limit(monkeypatch):
    monkeypatch.setattr(project, "MAX_MEMBER_BYTES", 1000)
    payload = bytes(range(256)) * 20  # 5120 bytes that hardly compress
    data = _zip({"project.json": _index(rois={"a": {"file": "rois/a.json"}}), "rois/a.json": payload})
    with pytest.raises(InputError, match=r"member rois/a\.json is larger than 1,000 bytes uncompressed"):
        read_project(data, "p.zip")


def test_too_many_members_are_refused(monkeypatch):
    monkeypatch.setattr(project, "MAX_MEMBERS", 3)
    data = _zip({"project.json": _index(), **{f"extra/{i}.txt": "x" for i in range(3)}})
    with pytest.raises(InputError, match="4 members; a project file has at most 3"):
        read_project(data, "p.zip")


def test_settings_that_are_not_plain_json_are_refused_when_saving():
    with pytest.raises(InputError, match=r"settings.calculator.hu holds the non-number nan"):
        write_project(Project(settings={"calculator": {"hu": float("nan")}}))
    with pytest.raises(InputError, match=r"settings.model is not a JSON value \(object\)"):
        write_project(Project(settings={"model": object()}))
