"""Save and load a project on the Data page (AppTest): a session's uploaded cohort, column mapping, marker
choices, fitted model, calculator patient and ROIs, saved to one file and loaded into a fresh session,
restore every page; a broken project file changes nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import analysis, state
from ovcf_core import paths
from ovcf_core.imaging import Roi, Shape
from tests import apptest_tools as tools
from tests.calculator_steps import fit_on_current_cohort

DATA = "dashboard/pages/data.py"
CALCULATOR = "dashboard/pages/calculator.py"
ROI = Roi(label="L2", slice=4, shape=Shape.ELLIPSE, center=(30.0, 31.0), radii=(6.0, 5.0))

SAVE_SCRIPT = """
import streamlit as st
from dashboard import project_file
from ovcf_core.project import write_project
st.session_state["saved_project"] = write_project(project_file.collect(project_file.session_values()))
"""


def _renamed_cohort_csv(rows: int = 60) -> bytes:
    """The sample's first rows with the outcome column called 'fracture' (so the mapping matters)."""
    lines = paths.SAMPLE_COHORT.read_text(encoding="utf-8").splitlines()
    header = lines[0].replace("ovcf", "fracture")
    return ("\n".join([header, *lines[1 : rows + 1]]) + "\n").encode()


def _project_index(uploaders) -> int:
    return next(i for i, u in enumerate(uploaders) if "project" in u.label.lower())


@pytest.fixture(scope="module")
def worked():
    """A session with work on several pages, and the project file saved from it."""
    at = tools.open_page(DATA)
    at = tools.upload(at, 0, "my_cohort.csv", _renamed_cohort_csv())
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[state.COLUMN_MAPPING]["mapping"]["ovcf"] == "fracture"
    at.multiselect[0].set_value(["hu", "fi"])  # marker choice on the Data page
    at = at.run()
    at = fit_on_current_cohort(at.switch_page(CALCULATOR).run(), ["hu"])
    for key, value in (("hu", 85.0), ("age", 72.0), ("bmi", 22.5)):
        at.number_input(key=key).set_value(value)
    at.radio(key="sex").set_value("F")
    at = at.run()
    assert not at.exception and at.metric, [e.value for e in at.error]
    at.session_state["scan_rois"] = {"upload:1.2.826.0.1.99": [ROI], "phantom:1.2.3": [ROI]}
    at.session_state[state.ANALYSIS_OPTIONS] = {
        "firth": True,
        "pauc": [0.8, 1.0],
    }  # as the ROC page keeps them
    at = at.run()
    saver = AppTest.from_string(SAVE_SCRIPT, default_timeout=tools.TIMEOUT)
    for key in (*state.KEPT_KEYS, "calculator_fit_settings"):
        if key in at.session_state:
            saver.session_state[key] = at.session_state[key]
    saver = saver.run()
    assert not saver.exception
    return at, saver.session_state["saved_project"]


def test_the_saved_project_holds_the_work_and_no_phantom_rois(worked):
    _, data = worked
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
    assert {"project.json", "tables/cohort.csv", "models/fitted.json", "rois/series_1.json"} <= names
    assert len([n for n in names if n.startswith("rois/")]) == 1


def test_loading_the_project_in_a_fresh_session_restores_every_page(worked):
    before, data = worked
    at = tools.open_page(DATA)
    at = tools.upload(at, _project_index(at.file_uploader), "ovcf_project.zip", data)
    assert not at.exception and not at.error, [e.value for e in at.error]
    session = at.session_state
    assert session[state.COHORT_SOURCE] == "my_cohort.csv (60 usable rows)"
    assert session[state.COHORT_IS_SYNTHETIC] is False
    assert session[state.COHORT_KEY] == before.session_state[state.COHORT_KEY]
    assert session[state.ANALYSIS_SETTINGS]["markers"] == ["hu", "fi"]
    assert session[state.COLUMN_MAPPING]["mapping"]["ovcf"] == "fracture"
    assert session["scan_rois"] == {"upload:1.2.826.0.1.99": [ROI]}
    assert session[state.ANALYSIS_OPTIONS] == {"firth": True, "pauc": [0.8, 1.0]}
    assert analysis.OPTIONS == state.ANALYSIS_OPTIONS  # the key the analysis pages read
    assert "Column mapping of my_cohort.csv: `fracture` → ovcf" in tools.shown_text(at)
    assert at.multiselect[0].value == ["hu", "fi"]  # the Data page shows the restored marker choice
    at = at.switch_page("dashboard/pages/cohort.py").run()
    assert not at.exception
    assert "Data: **my_cohort.csv (60 usable rows)**" in at.caption[0].value
    at = at.switch_page(CALCULATOR).run()
    assert not at.exception and not at.error
    assert at.radio[0].value == "Fitted on the current cohort"
    assert at.number_input(key="hu").value == 85.0 and at.number_input(key="age").value == 72.0
    assert at.number_input(key="vbq").value is None
    assert at.metric[0].value == before.metric[0].value  # the same HU-only model, no refit asked
    assert not [b for b in at.button if b.label.startswith("Fit the model")]


def test_a_broken_project_file_is_refused_and_changes_nothing(worked):
    _, data = worked
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "tables/cohort.csv":
                content = b"weight,height\n70,170\n"
            target.writestr(item, content)
    at = tools.open_page(DATA)
    at = tools.upload(at, _project_index(at.file_uploader), "broken.zip", broken.getvalue())
    assert not at.exception
    (message,) = [e.value for e in at.error]
    assert (
        message.startswith("broken.zip: project: member tables/cohort.csv:")
        and "Nothing was changed" in message
    )
    assert at.session_state[state.COHORT_IS_SYNTHETIC] is True
    assert state.RISK_MODEL not in at.session_state
