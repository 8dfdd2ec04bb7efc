"""Shared page bits: the page header, the synthetic-data note, cohort caption, problem lists and downloads.

Pages stay thin: they call these for everything that looks the same on every page, so units, labels and
the "synthetic" notice are consistent across the dashboard.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import state
from ovcf_core import SYNTHETIC_NOTE, io
from ovcf_core.errors import OvcfError
from ovcf_core.report import style
from ovcf_core.schema import OUTCOME, PAIR_ID, PATIENT_ID, Indicator, ValidationReport


def page_header(title: str, intro: str | None = None) -> None:
    """Draw the page's title and a one-line explanation (the synthetic label is `synthetic_note`'s job)."""
    st.title(title)
    if intro:
        st.markdown(intro)


def synthetic_note(is_synthetic: bool) -> None:
    """Show the 'synthetic data' label, for any table or figure drawn from shipped sample data."""
    if is_synthetic:
        st.caption(f":material/science: **{SYNTHETIC_NOTE}**")


def current_cohort(*, required: bool = True) -> pd.DataFrame | None:
    """Return the current cohort (the synthetic sample on first visit).

    When none can be loaded, a message is shown and the page stops (or None is returned when not required).
    """
    try:
        return state.ensure_cohort()
    except OvcfError as exc:
        st.error(f"No cohort is loaded ({exc}). Upload one on the Data page.")
        if required:
            st.stop()
        return None


@dataclass(frozen=True)
class SampleTable:
    """A kind of table a page reads from an upload, with the shipped (synthetic) sample used until then.

    `state_key` is where the current table lives in `st.session_state`; `read(data, name)` parses an
    upload (raising `OvcfError` on a bad one); `source` names the sample; `noun` names what the file holds
    ("pool", "measurements") in messages.
    """

    state_key: str
    read: Callable[[bytes, str], object]
    sample: Path
    source: str
    noun: str


def upload_or_sample(kind: SampleTable, label: str, key: str) -> dict:
    """Draw an uploader whose parsed upload replaces the current table of `kind`, and return that table.

    Until the first upload the shipped (synthetic) sample is used. A bad upload shows why and keeps what
    was there.

    Parameters
    ----------
    kind
        The kind of table: its session key, reader, sample and noun.
    label, key
        The uploader's label and widget key.

    Returns
    -------
    dict
        The current {"table", "source", "synthetic"}; the page stops when nothing can be loaded.
    """
    state_key, read, sample, noun = kind.state_key, kind.read, kind.sample, kind.noun
    uploaded = st.file_uploader(label, type=["csv", "xlsx"], key=key)
    if uploaded is not None:
        try:
            table = read(uploaded.getvalue(), uploaded.name)
        except OvcfError as exc:
            st.error(f"Could not use the upload — {exc}. The {noun} shown before {_are(noun)} kept.")
        else:
            st.session_state[state_key] = {"table": table, "source": uploaded.name, "synthetic": False}
    if state_key not in st.session_state:
        try:
            table = read(sample.read_bytes(), sample.name)
        except (OSError, OvcfError) as exc:
            st.info(f"Upload a file to begin (the sample {noun} could not be read: {exc}).")
            st.stop()
        st.session_state[state_key] = {"table": table, "source": kind.source, "synthetic": True}
    return st.session_state[state_key]


def _are(noun: str) -> str:
    return "are" if noun.endswith("s") else "is"


def cohort_caption(table: pd.DataFrame) -> None:
    """Say in one line which cohort the page shows and how many cases and controls it has."""
    cases = int((table[OUTCOME] == 1).sum()) if OUTCOME in table.columns else 0
    controls = int((table[OUTCOME] == 0).sum()) if OUTCOME in table.columns else 0
    source = st.session_state.get(state.COHORT_SOURCE, "uploaded cohort")
    st.caption(f"Cohort: **{source}** — {cases} OVCF cases, {controls} controls.")
    state.synthetic_badge()


def show_report(report: ValidationReport, *, name: str = "the file") -> None:
    """Show the validation report: a summary, errors (rows left out) and warnings, with row and column."""
    if not report.problems:
        st.success(f"{name}: {report.summary()}.")
        return
    usable = report.n_rows - len(report.blocked_rows)
    (st.warning if usable else st.error)(f"{name}: {report.summary()}. Rows with errors are left out.")
    frame = report.to_frame()
    errors = frame[frame["severity"] == "error"]
    warnings = frame[frame["severity"] == "warning"]
    if not errors.empty:
        with st.expander(f"{len(errors)} error(s) — these rows are not used", expanded=len(errors) <= 20):
            st.dataframe(errors.drop(columns="severity"), hide_index=True, width="stretch")
    if not warnings.empty:
        with st.expander(f"{len(warnings)} warning(s) — these values are used", expanded=len(warnings) <= 10):
            st.dataframe(warnings.drop(columns="severity"), hide_index=True, width="stretch")


def slug(text: str) -> str:
    """Make a file-name-safe version of a title."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "table"


COLUMN_NAMES = {
    PATIENT_ID: "Patient ID",
    OUTCOME: "OVCF (1 = case)",
    PAIR_ID: "Pair",
    "sex": "Sex",
    "row": "Row",
    "measure": "Measure",
    "estimate": "Estimate",
    "perfect": "Perfect",
    "marker": "Indicator",
    "direction": "Direction",
    "patients": "Patients",
    "missing": "Missing",
    "criterion": "Criterion",
    "shrinkage": "Shrinkage",
}


def column_name(column: object) -> str:
    """Make a readable column header.

    The indicator's or covariate's label, a known key's name, else the key with its underscores as spaces and
    a capital first letter.
    """
    text = str(column)
    if text in COLUMN_NAMES:
        return COLUMN_NAMES[text]
    if Indicator.from_column(text) is not None or text in style.COVARIATE_LABELS:
        return style.marker_label(text)
    if len(text) > 2 and text.isidentifier() and text.islower():  # a raw key (not "n", "p", "z")
        return (text[:1].upper() + text[1:]).replace("_", " ")
    return text


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """Prepare the table as a person reads it.

    Readable headers, indicator keys as their labels, and a dash (not 'None' or 'nan') where a value is
    missing. Numbers keep their values; only blanks become text.
    """
    shown = table.rename(columns=column_name)
    for column in shown.columns:
        if column in ("Indicator", "Marker"):
            shown[column] = [style.marker_label(v) if isinstance(v, str) else v for v in shown[column]]
        values = shown[column]
        if values.isna().any():
            shown[column] = values.astype(object).where(values.notna(), style.MISSING)
    return shown


def download_table(
    table: pd.DataFrame, title: str, *, key: str | None = None, numbers: pd.DataFrame | None = None
) -> None:
    """Draw CSV and XLSX downloads of a table (formula cells escaped by ovcf_core.io; XLSX on click).

    The XLSX holds the table as shown (formatted, as the report prints it); the CSV holds `numbers` when
    given — the same results at full precision, for further analysis — else the table itself.
    """
    slug_text = slug(title)
    left, right = st.columns(2)
    left.download_button(
        f"⬇ {title} (CSV{', full precision' if numbers is not None else ''})",
        data=io.table_to_bytes(table if numbers is None else numbers, "csv"),
        file_name=f"{slug_text}.csv",
        mime="text/csv",
        key=f"{key or slug_text}_csv",
        width="stretch",
    )
    right.download_button(
        f"⬇ {title} (XLSX)",
        data=lambda: io.table_to_bytes(table, "xlsx", sheet_name=slug_text),  # built on click
        file_name=f"{slug_text}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key or slug_text}_xlsx",
        width="stretch",
    )


PLOT_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 3},  # the camera button: a print-quality PNG
}


def plot(figure: go.Figure, key: str) -> None:
    """Draw a plotly figure full width, with a short modebar (the figure keeps a strip for it at the top)."""
    st.plotly_chart(figure, key=key, width="stretch", config=PLOT_CONFIG)


def show_table(table: pd.DataFrame, caption: str | None = None) -> None:
    """Draw a formatted result table full width, without the index, with readable headers and blanks."""
    st.dataframe(readable(table), hide_index=True, width="stretch")
    if caption:
        st.caption(caption)


def result_table(
    heading: str, table: pd.DataFrame, caption: str, title: str, numbers: pd.DataFrame | None = None
) -> None:
    """Draw a numbered result table under its heading, with its caption and CSV/XLSX downloads.

    `title` names the download files; `numbers` is the full-precision CSV (see `download_table`).
    """
    st.subheader(heading)
    show_table(table, caption)
    download_table(table, title, numbers=numbers)


def covariate_picker(container: object, offered: list[str], chosen: list[str], **widget: str) -> list[str]:
    """Draw the "Adjust for" multiselect of covariates, labelled as in the report, in `container`.

    Starts from the `chosen` covariates that are still `offered`; `widget` passes `key` or `help` on.
    """
    return container.multiselect(  # type: ignore[attr-defined]
        "Adjust for",
        offered,
        default=[c for c in chosen if c in offered],
        format_func=lambda c: style.COVARIATE_LABELS.get(c, c),
        **widget,
    )
