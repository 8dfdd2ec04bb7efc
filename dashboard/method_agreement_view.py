"""The Reliability page's method-agreement section: two methods measuring one indicator on the same patients.

The reader uploads a wide or long table (or keeps the synthetic L1 HU by hand and by mask), picks the
columns, and sees `ovcf_core.method_agreement`'s Bland–Altman result, its table, any published cut-offs
translated from method A to method B, and a JSON download. The statistics are all in ovcf_core; this module
only draws the choices and the result.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import analysis, components
from ovcf_core import formatting, method_agreement, paths
from ovcf_core.errors import OvcfError
from ovcf_core.output import json_safe
from ovcf_core.report import agreement_figures, tables
from ovcf_core.stats.agreement import LOA_CI_METHODS

METHOD_PAIRS = "method_agreement_table"  # dict: this section's table (table, notes), source, synthetic
PATIENT_COLUMNS = ("patient_id", "patient", "subject", "id")
LOA_CI_TEXT = {"bland_altman_1999": "Bland & Altman (1999)", "exact": "the exact noncentral t (Carkeet 2015)"}
INDICATOR_NAMES: dict[str | None, str] = {
    None: "not named (no cut-offs)",
    "hu_l1": "HU of L1 (published L1 cut-offs)",
    "hu": "average HU of L1–L4",
    "vbq": "VBQ score",
    "t_score": "average T-score",
    "rcsa": "average total rCSA",
    "fi": "average FI",
}


@st.cache_data(show_spinner="Reading the table…", max_entries=8)
def _read_pairs(data: bytes, name: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Read an uploaded two-method table with `method_agreement.read_pairs_table`, cached on its bytes."""
    return method_agreement.read_pairs_table(data, name, PATIENT_COLUMNS)


PAIRS_TABLE = components.SampleTable(
    METHOD_PAIRS,
    _read_pairs,
    paths.SAMPLE_DATA / method_agreement.SAMPLE_FILE,
    "synthetic L1 HU by hand and by mask",
    "values",
)


def _pick(label: str, options: list[str], preferred: tuple[str, ...], fallback: int, key: str) -> str:
    """Draw a selectbox whose default is the first `preferred` option present, else option `fallback`."""
    found = next((options.index(p) for p in preferred if p in options), min(fallback, len(options) - 1))
    return st.selectbox(label, options, index=found, key=key)


def _long_methods(table: pd.DataFrame, columns: list[DeltaGenerator], slot: str) -> tuple[str, str, str, str]:
    """Pick the method and value columns of a long table, then methods A and B among the methods named.

    Stops the page with a message when the method column names fewer than two methods.
    """
    left, middle, right = columns
    names = list(table.columns)
    with left:
        method_column = _pick("Method column", names, ("method",), 1, f"ma_method_{slot}")
        value_column = _pick("Value column", names, ("value",), 2, f"ma_value_{slot}")
    labels = sorted({str(v).strip() for v in table[method_column].dropna() if str(v).strip()})
    if len(labels) < 2:
        st.error(f"The column '{method_column}' names fewer than two methods: choose the method column.")
        st.stop()
    with middle:
        first = st.selectbox(
            "Method A (reference)", labels, index=0, key=f"ma_a_label_{slot}_{method_column}"
        )
    with right:
        second = st.selectbox(
            "Method B (compared with A)", labels, index=1, key=f"ma_b_label_{slot}_{method_column}"
        )
    return method_column, value_column, first, second


def _pairs(source: dict) -> tuple[method_agreement.MethodPairs, str | None, str]:
    """Draw the layout, column, indicator and CI choices and return the pairs, the indicator and CI method.

    Stops the page with the reason when the chosen columns do not give pairs.
    """
    table = source["table"][0]
    names = list(table.columns)
    slot = analysis.digest(table)[:12]  # a new table starts its choices afresh from its own defaults
    layout = st.radio(
        "Table layout",
        ["wide: a column per method", "long: method and value columns"],
        index=int({"method", "value"} <= set(names)),
        horizontal=True,
        key=f"ma_layout_{slot}",
    )
    columns = st.columns(3)
    left, middle, right = columns
    with left:
        subject = _pick("Patient column", names, PATIENT_COLUMNS, 0, f"ma_subject_{slot}")
    if layout.startswith("wide"):
        method_column = value_column = None
        with middle:
            first = _pick("Method A (reference)", names, ("hu_l1_manual", "manual"), 1, f"ma_a_{slot}")
        with right:
            second = _pick("Method B (compared with A)", names, ("hu_l1_mask", "mask"), 2, f"ma_b_{slot}")
    else:
        method_column, value_column, first, second = _long_methods(table, columns, slot)
    guess = "hu_l1" if "hu_l1" in f"{first} {second}" or source["synthetic"] else None
    options = list(INDICATOR_NAMES)
    with left:
        indicator = st.selectbox(
            "The values are",
            options,
            index=options.index(guess),
            format_func=lambda key: INDICATOR_NAMES[key],
            key=f"ma_ind_{slot}",
        )
    with middle:
        loa_ci = st.radio(
            "CI of the limits of agreement",
            LOA_CI_METHODS,
            format_func=lambda key: LOA_CI_TEXT[key],
            key="ma_loa_ci",
        )
    try:
        if method_column and value_column:
            pairs = method_agreement.pairs_from_long(
                table, subject, method_column, value_column, first, second, file=source["source"]
            )
        else:
            pairs = method_agreement.pairs_from_wide(table, subject, first, second, file=source["source"])
    except OvcfError as exc:
        st.error(f"Method agreement not computed — {exc}")
        st.stop()
    return pairs, indicator, loa_ci


def _tiles(
    result: method_agreement.MethodAgreement, pairs: method_agreement.MethodPairs, digits: int
) -> None:
    """Draw the pairs used, pairs left out, the bias and ICC(2,1) as metrics (estimates only)."""
    ba = result.bland_altman
    unit = f" ({result.unit})" if result.unit else ""
    tiles = st.columns(4)  # estimates only: their CIs are in the table below (long CIs would be cut off here)
    tiles[0].metric("Pairs used", f"{ba.n}", help="patients with both methods' values")
    tiles[1].metric("Left out (a value missing)", f"{len(pairs.dropped)}")
    tiles[2].metric(
        f"Bias, B − A{unit}", formatting.number(ba.bias, digits), help=f"mean of {result.difference}"
    )
    if result.icc2 is not None:
        tiles[3].metric(
            "ICC(2,1)",
            formatting.number(result.icc2.icc, formatting.COEFFICIENT_DIGITS),
            help="two-way random, absolute agreement",
        )
    if pairs.dropped:
        rows = ", ".join(str(r) for d in pairs.dropped for r in d.rows)
        st.caption(f"Left out (spreadsheet rows): {rows} — each misses a value of one method.")


def _summary(result: method_agreement.MethodAgreement, loa_ci: str, digits: int) -> None:
    """Draw the statistics table: each estimate with its 95% CI, in the indicator's digits."""
    components.show_table(
        tables.agreement_summary_table(result, digits),
        f"Differences {result.difference}. Limits of agreement: bias ± 1.96 SD, their CIs by "
        f"{LOA_CI_TEXT[loa_ci]}. "
        "Proportional bias: least-squares slope of the difference on the pair mean (0 = none). ICC(2,1): "
        "two-way random, absolute agreement; ICC(3,1): two-way mixed, consistency (Shrout & Fleiss 1979).",
    )


def _cutoffs(
    result: method_agreement.MethodAgreement, pairs: method_agreement.MethodPairs, digits: int
) -> None:
    """Draw the published cut-offs found with method A as method B would read them, with statements."""
    st.markdown(f"**Published cut-offs found with {pairs.method_a}, as {pairs.method_b} would read them**")
    components.show_table(
        tables.agreement_cutoff_table(result, digits),
        "Cut-off + bias, with the bias's 95% CI; the regression column also allows for a proportional bias. "
        + " ".join(
            f"{c.threshold.label}: {c.threshold.detects}, {c.threshold.applies_to}." for c in result.cutoffs
        )
        + " Research tool, not a medical device.",
    )
    for cutoff in result.cutoffs:
        st.markdown(f"- {cutoff.statement(pairs.method_a, pairs.method_b, result.unit)}")


def method_agreement_section() -> None:
    """Draw the whole method-agreement section: upload, choices, result, table, cut-offs and download."""
    st.divider()
    st.subheader("Method agreement")
    st.markdown(
        "Two methods measuring the **same indicator on the same patients** — e.g. L1 HU drawn by hand and "
        "taken from a segmentation mask. Upload a **wide** table (one row per patient, one column per "
        "method) or a **long** one (patient, method, value). Every difference is **method B − method A**. "
        "Until you upload, a **synthetic** sample of L1 HU by hand and by mask is used."
    )
    source = components.upload_or_sample(
        PAIRS_TABLE, "Two methods' values (CSV or XLSX)", "method_agreement_upload"
    )
    pairs, indicator, loa_ci = _pairs(source)
    try:
        result = method_agreement.method_agreement(
            pairs, indicator=indicator, loa_ci=loa_ci, synthetic=source["synthetic"]
        )
    except OvcfError as exc:
        st.error(f"Method agreement not computed — {exc}")
        st.stop()
    if source["synthetic"]:  # its own note: this sample is not from ovcf_core.synthetic
        st.caption(f":material/science: **{method_agreement.SAMPLE_NOTE}**")
    for note in (*source["table"][1], *pairs.notes):
        st.warning(note)
    digits = formatting.agreement_digits(indicator)
    _tiles(result, pairs, digits)
    st.plotly_chart(
        agreement_figures.method_agreement_figure(result, digits=digits), key="ma_figure", width="stretch"
    )
    _summary(result, loa_ci, digits)
    if result.cutoffs:
        _cutoffs(result, pairs, digits)
    elif indicator is None:
        st.caption("Name what the values are (e.g. HU of L1) to see the published cut-offs translated.")
    for warning in result.warnings:
        st.warning(warning)
    st.download_button(
        "⬇ Method agreement (JSON)",
        data=json.dumps(json_safe(result.to_dict()), indent=2, ensure_ascii=False),
        file_name="method_agreement.json",
        mime="application/json",
        key="ma_json",
    )
