"""Save and load a project from the Data page: the session's work as one zip (`ovcf_core.project`).

`collect` gathers the session's tables, models, ROI sets and settings; `restore` reads every part back
through the same validated readers as an upload (cohort and pool re-validated, models checked field by
field, ROIs parsed) and only then replaces the session's work, so a broken file changes nothing.
"""

from __future__ import annotations

import io as stdlib_io
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import calculator_inputs, calculator_model, state
from ovcf_core import io
from ovcf_core.errors import InputError, OvcfError
from ovcf_core.imaging import dumps_rois, loads_rois
from ovcf_core.model.persistence import model_from_dict, model_to_dict
from ovcf_core.project import Project, ProjectTable, read_project, write_project
from ovcf_core.ratings import MARKER, RATER, VALUE, Ratings
from ovcf_core.schema import PATIENT_ID

ROIS, FOUND = "scan_rois", "scan_indicators"  # the Scans page's ROI sets and measured indicators
UPLOAD_PREFIX = "upload:"  # ROI sets of uploaded series (a phantom's ROIs are not the reader's work)
LOADED_FROM = "project_loaded_from"  # digest of the project file applied last, so it is applied once


def _plain(value: Any) -> Any:
    """Convert a session value to plain JSON (numpy numbers to Python, tuples to lists)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


SAVED_KEYS = (*state.KEPT_KEYS, calculator_model.FIT_SETTINGS)


def session_values() -> dict[str, Any]:
    """Collect the session values a project is made of (references, no copies: cheap on every run)."""
    return {key: st.session_state[key] for key in SAVED_KEYS if key in st.session_state}


def collect(session: Mapping[str, Any]) -> Project:
    """Gather the work in `session_values()` as a Project (tables, models, ROI sets, settings).

    Runs when the download is clicked, outside the script run, so it reads only the values given.
    """
    tables: dict[str, ProjectTable] = {}
    if state.COHORT in session:
        tables["cohort"] = ProjectTable.from_frame(
            session[state.COHORT],
            str(session.get(state.COHORT_SOURCE, "cohort")),
            synthetic=bool(session.get(state.COHORT_IS_SYNTHETIC, True)),
        )
    ratings = session.get(state.RATINGS)
    if ratings:
        tables["ratings"] = ProjectTable.from_frame(
            ratings["table"].long, str(ratings["source"]), synthetic=bool(ratings["synthetic"])
        )
    pool = session.get(state.MATCHING_POOL)
    if pool:
        tables["matching_pool"] = ProjectTable.from_frame(
            pool["table"], str(pool["source"]), synthetic=bool(pool["synthetic"])
        )
    models: dict[str, dict[str, Any]] = {}
    if state.RISK_MODEL in session:
        models["fitted"] = model_to_dict(session[state.RISK_MODEL])
    uploaded = session.get(state.UPLOADED_MODEL)
    if uploaded:
        models["uploaded"] = model_to_dict(uploaded["model"])
    rois, roi_keys = {}, {}
    uploaded_sets = [
        (k, v) for k, v in (session.get(ROIS) or {}).items() if k.startswith(UPLOAD_PREFIX) and v
    ]
    for i, (key, roi_list) in enumerate(sorted(uploaded_sets, key=lambda item: item[0]), start=1):
        rois[f"series_{i}"] = dumps_rois(list(roi_list))
        roi_keys[f"series_{i}"] = key
    settings = {
        "analysis": session.get(state.ANALYSIS_SETTINGS),
        "analysis_options": session.get(state.ANALYSIS_OPTIONS),
        "column_mapping": session.get(state.COLUMN_MAPPING),
        "calculator": session.get(state.CALCULATOR_PATIENT) or {},
        "model_choice": session.get(state.MODEL_CHOICE),
        "fit": session.get(calculator_model.FIT_SETTINGS),
        "uploaded_model_name": uploaded["name"] if uploaded else None,
        "roi_keys": roi_keys,
        "scan_indicators": session.get(FOUND) or {},
    }
    return Project(tables=tables, models=models, rois=rois, settings=_plain(settings))


def _ratings(table: ProjectTable) -> Ratings:
    """Rebuild the Reliability page's ratings from their long table (patient_id, rater, marker, value)."""
    member = "tables/ratings.csv"
    try:
        long = pd.read_csv(stdlib_io.BytesIO(table.data), dtype={PATIENT_ID: str, RATER: str, MARKER: str})
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"project: member {member} is not a readable CSV ({exc})") from None
    missing = [c for c in (PATIENT_ID, RATER, MARKER, VALUE) if c not in long.columns]
    if missing:
        raise InputError(f"project: member {member} lacks column(s) {', '.join(missing)}")
    long[VALUE] = pd.to_numeric(long[VALUE], errors="coerce")
    if long[VALUE].isna().any():
        row = int(long.index[long[VALUE].isna()][0]) + 2
        raise InputError(f"project: member {member} row {row}: column value is not a number")
    long = long[[PATIENT_ID, RATER, MARKER, VALUE]]
    return Ratings(long, tuple(dict.fromkeys(long[RATER])), tuple(dict.fromkeys(long[MARKER])))


def _checked_calculator(values: Any) -> dict[str, Any]:
    """Restore the calculator's saved fields, keeping only known fields of the right type."""
    if not isinstance(values, dict):
        raise InputError("project: project.json field settings.calculator must be an object")
    kept: dict[str, Any] = {}
    for key, value in values.items():
        default = calculator_inputs.DEFAULTS.get(key, KeyError)
        if default is KeyError:
            continue
        if key == "fractured":
            ok = isinstance(value, list) and all(v in ("L1", "L2", "L3", "L4") for v in value)
        elif key in ("vbq_mode", "hu_mode", "sex"):
            choices = {
                "vbq_mode": calculator_inputs.VBQ_MODES,
                "hu_mode": calculator_inputs.HU_MODES,
                "sex": (*calculator_inputs.SEXES, None),
            }[key]
            ok = value in choices
        elif key == "correct_prevalence":
            ok = isinstance(value, bool)
        else:
            ok = value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
        if not ok:
            raise InputError(f"project: project.json field settings.calculator.{key} has a wrong value")
        kept[key] = float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return kept


def _restored_tables(project: Project) -> dict[str, Any]:
    """Read back the cohort, ratings and matching pool, each through its own validated reader."""
    values: dict[str, Any] = {}
    cohort = project.tables.get("cohort")
    if cohort is not None:
        try:
            table, report = io.read_cohort(cohort.data, "cohort.csv")
        except OvcfError as exc:
            raise InputError(f"project: member tables/cohort.csv: {exc}") from None
        values.update(
            {
                state.COHORT: table,
                state.COHORT_REPORT: report,
                state.COHORT_SOURCE: cohort.source,
                state.COHORT_IS_SYNTHETIC: cohort.synthetic,
                state.COHORT_KEY: state.table_digest(table),
            }
        )
    if "ratings" in project.tables:
        table = project.tables["ratings"]
        values[state.RATINGS] = {
            "table": _ratings(table),
            "source": table.source,
            "synthetic": table.synthetic,
        }
    if "matching_pool" in project.tables:
        from dashboard import analysis

        table = project.tables["matching_pool"]
        try:
            pool = analysis.read_pool(table.data, "matching_pool.csv")
        except OvcfError as exc:
            raise InputError(f"project: member tables/matching_pool.csv: {exc}") from None
        values[state.MATCHING_POOL] = {"table": pool, "source": table.source, "synthetic": table.synthetic}
    return values


def _restored_models(project: Project, cohort_key: str | None) -> dict[str, Any]:
    """Read back the fitted and the uploaded risk model, each checked field by field like a model file."""
    values: dict[str, Any] = {}
    for name, parsed in project.models.items():
        try:
            model = model_from_dict(parsed)
        except OvcfError as exc:
            raise InputError(f"project: member models/{name}.json: {exc}") from None
        if name == "fitted":
            values[state.RISK_MODEL] = model
            values[state.RISK_MODEL_COHORT] = (cohort_key, tuple(model.features_), tuple(model.adjust_))
        elif name == "uploaded":
            label = str(project.settings.get("uploaded_model_name") or "model from the project file")
            values[state.UPLOADED_MODEL] = {"name": label, "model": model, "digest": None}
    return values


def _restored_rois(project: Project) -> dict[str, Any]:
    """Read back the ROI sets of uploaded series, parsed like ROI files, under their series' keys."""
    if not project.rois:
        return {}
    roi_keys = project.settings.get("roi_keys") or {}
    restored = {}
    for name, text in project.rois.items():
        key = roi_keys.get(name) if isinstance(roi_keys, dict) else None
        if not isinstance(key, str) or not key.startswith(UPLOAD_PREFIX):
            raise InputError(f"project: project.json field settings.roi_keys.{name} is missing")
        restored[key] = list(loads_rois(text, f"rois/{name}.json"))
    return {ROIS: restored}


def _restored_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Read back the settings, column mapping, the calculator's fields and model choice, scan indicators."""
    values: dict[str, Any] = {}
    if settings.get("analysis") is not None:
        values[state.ANALYSIS_SETTINGS] = _checked_analysis(settings["analysis"])
    if settings.get("analysis_options") is not None:
        values[state.ANALYSIS_OPTIONS] = _checked_options(settings["analysis_options"])
    if isinstance(settings.get("column_mapping"), dict):
        values[state.COLUMN_MAPPING] = settings["column_mapping"]
    values[state.CALCULATOR_PATIENT] = _checked_calculator(settings.get("calculator") or {})
    if settings.get("model_choice") in calculator_model.CHOICES:
        values[state.MODEL_CHOICE] = settings["model_choice"]
    if isinstance(settings.get("fit"), dict):
        values[calculator_model.FIT_SETTINGS] = settings["fit"]
    found = settings.get("scan_indicators") or {}
    if isinstance(found, dict) and all(isinstance(v, (int, float)) for v in found.values()):
        values[FOUND] = {str(k): float(v) for k, v in found.items()}
    return values


def _restored_state(project: Project) -> dict[str, Any]:
    """Read and check every session value the project sets; nothing is applied if any part is wrong."""
    values = _restored_tables(project)
    values.update(_restored_models(project, values.get(state.COHORT_KEY)))
    values.update(_restored_rois(project))
    values.update(_restored_settings(project.settings))
    return values


def _checked_options(value: Any) -> dict[str, Any]:
    """Restore the ROC/Logistic analysis options (Firth, p adjustment, partial AUC range, cut-off rule)."""
    from dashboard.analysis import DEFAULT_OPTIONS

    where = "project: project.json field settings.analysis_options"
    if not isinstance(value, dict) or not set(value) <= set(DEFAULT_OPTIONS):
        raise InputError(f"{where} must be an object with keys among {', '.join(DEFAULT_OPTIONS)}")
    checks = {
        "firth": lambda v: isinstance(v, bool),
        "p_adjust": lambda v: isinstance(v, str),
        "cutoff": lambda v: isinstance(v, str),
        "pauc": lambda v: (
            v is None or (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v))
        ),
    }
    for key, item in value.items():
        if not checks.get(key, lambda v: True)(item):
            raise InputError(f"{where}.{key} has a wrong value")
    return dict(value)


def _checked_analysis(value: Any) -> dict[str, Any]:
    """Restore the analysis settings (outcome, markers, adjust, pair), with the right types."""
    if not isinstance(value, dict):
        raise InputError("project: project.json field settings.analysis must be an object")
    for key in ("markers", "adjust"):
        if not isinstance(value.get(key, []), list) or not all(
            isinstance(v, str) for v in value.get(key, [])
        ):
            raise InputError(f"project: project.json field settings.analysis.{key} must be a list of names")
    if value.get("pair") is not None and not isinstance(value.get("pair"), str):
        raise InputError("project: project.json field settings.analysis.pair must be a column name or null")
    from ovcf_core.schema import OUTCOME

    return {
        "outcome": OUTCOME,
        "markers": list(value.get("markers", [])),
        "adjust": list(value.get("adjust", [])),
        "pair": value.get("pair"),
    }


# Widget keys that must be refilled from the restored plain keys on the next run.
_WIDGETS = (
    *calculator_inputs.DEFAULTS,
    calculator_model.CHOICE_WIDGET,
    "fit_features",
    "fit_adjust",
    "calculator_sent_applied",
)


def restore(project: Project) -> None:
    """Replace the session's work by the project's (all parts checked first; nothing changes on error)."""
    values = _restored_state(project)
    for key in (state.RISK_MODEL, state.RISK_MODEL_COHORT, state.UPLOADED_MODEL, ROIS, "scan_roi_history"):
        st.session_state.pop(key, None)
    for key in _WIDGETS:
        st.session_state.pop(key, None)
    st.session_state.pop(state.UPLOAD_DIGEST, None)
    for key, value in values.items():
        st.session_state[key] = value


def project_section() -> None:
    """Save the session's work as one file, or load one (restores every page)."""
    st.subheader("Project file")
    st.caption(
        "One .zip with the tables, column mapping, marker choices, risk models, ROIs and settings of this "
        "session (CSV and JSON inside; nothing is pickled). Loading it restores every page."
    )
    left, right = st.columns(2)
    values = session_values()  # read now: the download runs after the script, without the session
    left.download_button(
        "⬇ Save the project (.zip)",
        data=lambda: write_project(collect(values)),  # serialised on click only
        file_name="ovcf_project.zip",
        mime="application/zip",
        key="project_save",
        width="stretch",
    )
    upload = right.file_uploader("Load a project file saved here", type=["zip"], key="project_load")
    if upload is None:
        return
    data = upload.getvalue()
    digest = state.bytes_digest(data)
    if st.session_state.get(LOADED_FROM) == digest:
        right.success(f"Restored from {upload.name}.")
        return
    try:
        restore(read_project(data, upload.name))
    except OvcfError as exc:
        right.error(f"{upload.name}: {exc}. Nothing was changed.")
        return
    st.session_state[LOADED_FROM] = digest
    st.rerun()
