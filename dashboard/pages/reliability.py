"""Reliability: inter-rater agreement per indicator — ICC table (Shrout & Fleiss) and Bland–Altman plots —
and the agreement of two methods measuring one indicator (e.g. HU by hand and from a mask)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dashboard import analysis, components, state
from ovcf_core import formatting, method_agreement, paths
from ovcf_core.errors import OvcfError
from ovcf_core.output import json_safe
from ovcf_core.report import agreement_figures, style
from ovcf_core.stats.agreement import LOA_CI_METHODS

components.page_header(
    "Reliability",
    "Upload measurements of the same patients by two raters (or repeated by one): a raw measurement table "
    "with a `rater` column, or a table of indicators with `patient_id`, `rater` and the indicator columns. "
    "Until you do, the shipped **synthetic** two-rater measurements are used.",
)

current = components.upload_or_sample(
    "Two-rater or repeated measurements (CSV or XLSX) with a rater column",
    key="ratings_upload",
    state_key=state.RATINGS,
    read=analysis.read_ratings,
    sample=paths.SAMPLE_RAW,
    sample_source="synthetic two-rater sample",
    noun="measurements",
)
ratings = current["table"]
st.caption(
    f"Measurements: **{current['source']}** — {ratings.patients} patients, "
    f"raters: {', '.join(ratings.raters)}."
)
components.synthetic_note(current["synthetic"])

ratings_key = analysis.digest(ratings.long)
icc = analysis.icc_table(ratings, ratings_key)
st.subheader("Intraclass correlation per indicator")
components.show_table(
    icc.table,
    "Shrout & Fleiss (1979) forms with F-based 95% CIs. ICC(2,1): two-way random effects, absolute "
    "agreement, single rater; ICC(3,1): consistency; the paper reports ICCs above 0.8.",
)
components.download_table(icc.table, "ICC")
for message in icc.messages:
    st.warning(message)

st.subheader("Bland–Altman plots")
if len(ratings.raters) < 2:
    st.info("Bland–Altman plots need two raters.")
else:
    first, second = ratings.raters[:2]
    columns = st.columns(2)
    for i, marker in enumerate(ratings.markers):
        with columns[i % 2]:
            st.plotly_chart(
                analysis.bland_altman(ratings, ratings_key, marker, first, second),
                key=f"ba_{marker}",
                width="stretch",
            )
    st.caption(
        f"Differences {first} − {second} against their mean; limits of agreement: bias ± 1.96 SD. "
        f"Units as in the indicator ({', '.join(style.marker_label(m) for m in ratings.markers)})."
    )

# ---------------------------------------------------------------- method agreement (two methods, one marker)

METHOD_PAIRS = "method_agreement_table"  # dict: this section's table (table, notes), source, synthetic
SAMPLE_PAIRS = paths.SAMPLE_DATA / method_agreement.SAMPLE_FILE
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
    """`method_agreement.read_pairs_table` of an upload, cached on its bytes."""
    return method_agreement.read_pairs_table(data, name, ("patient_id", "patient", "subject", "id"))


def _pick(label: str, options: list[str], preferred: tuple[str, ...], fallback: int, key: str) -> str:
    """A selectbox whose default is the first `preferred` option present, else option `fallback`."""
    found = next((options.index(p) for p in preferred if p in options), min(fallback, len(options) - 1))
    return st.selectbox(label, options, index=found, key=key)


st.divider()
st.subheader("Method agreement")
st.markdown(
    "Two methods measuring the **same indicator on the same patients** — e.g. L1 HU drawn by hand and "
    "taken from a segmentation mask. Upload a **wide** table (one row per patient, one column per method) "
    "or a **long** one (patient, method, value). Every difference is **method B − method A**. Until you "
    "upload, a **synthetic** sample of L1 HU by hand and by mask is used."
)
pairs_source = components.upload_or_sample(
    "Two methods' values (CSV or XLSX)",
    key="method_agreement_upload",
    state_key=METHOD_PAIRS,
    read=_read_pairs,
    sample=SAMPLE_PAIRS,
    sample_source="synthetic L1 HU by hand and by mask",
    noun="values",
)
pairs_table, read_notes = pairs_source["table"]
names = list(pairs_table.columns)
slot = analysis.digest(pairs_table)[:12]  # a new table starts its choices afresh from its own defaults
long_guess = {"method", "value"} <= set(names)
layout = st.radio(
    "Table layout",
    ["wide: a column per method", "long: method and value columns"],
    index=int(long_guess),
    horizontal=True,
    key=f"ma_layout_{slot}",
)
left, middle, right = st.columns(3)
with left:
    subject = _pick(
        "Patient column", names, ("patient_id", "patient", "subject", "id"), 0, f"ma_subject_{slot}"
    )
method_column = value_column = None
if layout.startswith("wide"):
    with middle:
        first = _pick("Method A (reference)", names, ("hu_l1_manual", "manual"), 1, f"ma_a_{slot}")
    with right:
        second = _pick("Method B (compared with A)", names, ("hu_l1_mask", "mask"), 2, f"ma_b_{slot}")
else:
    with left:
        method_column = _pick("Method column", names, ("method",), 1, f"ma_method_{slot}")
        value_column = _pick("Value column", names, ("value",), 2, f"ma_value_{slot}")
    labels = sorted({str(v).strip() for v in pairs_table[method_column].dropna() if str(v).strip()})
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
guess = "hu_l1" if "hu_l1" in f"{first} {second}" or pairs_source["synthetic"] else None
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
            pairs_table, subject, method_column, value_column, first, second, file=pairs_source["source"]
        )
    else:
        pairs = method_agreement.pairs_from_wide(
            pairs_table, subject, first, second, file=pairs_source["source"]
        )
    result = method_agreement.method_agreement(
        pairs, indicator=indicator, loa_ci=loa_ci, synthetic=pairs_source["synthetic"]
    )
except OvcfError as exc:
    st.error(f"Method agreement not computed — {exc}")
    st.stop()
if pairs_source["synthetic"]:  # its own note: this sample is not from ovcf_core.synthetic
    st.caption(f":material/science: **{method_agreement.SAMPLE_NOTE}**")
for note in (*read_notes, *pairs.notes):
    st.warning(note)
ba = result.bland_altman
digits = formatting.marker_digits("hu" if indicator in ("hu_l1", "hu") else indicator or "")
unit = f" ({result.unit})" if result.unit else ""
tiles = st.columns(4)  # estimates only: their CIs are in the table below (long CIs would be cut off here)
tiles[0].metric("Pairs used", f"{ba.n}", help="patients with both methods' values")
tiles[1].metric("Left out (a value missing)", f"{len(pairs.dropped)}")
tiles[2].metric(f"Bias, B − A{unit}", formatting.number(ba.bias, digits), help=f"mean of {result.difference}")
if result.icc2 is not None:
    tiles[3].metric(
        "ICC(2,1)", formatting.number(result.icc2.icc, 3), help="two-way random, absolute agreement"
    )
if pairs.dropped:
    rows = ", ".join(str(r) for d in pairs.dropped for r in d.rows)
    st.caption(f"Left out (spreadsheet rows): {rows} — each misses a value of one method.")
st.plotly_chart(
    agreement_figures.method_agreement_figure(result, digits=digits), key="ma_figure", width="stretch"
)
summary = result.summary_frame()
summary["estimate [95% CI]"] = [
    agreement_figures.with_ci(e, (lo, hi), 3 if s.startswith("ICC") or "slope" in s else digits)
    if s != "pairs"
    else f"{int(e)}"
    for s, e, lo, hi in summary[["statistic", "estimate", "ci_low", "ci_high"]].itertuples(index=False)
]
components.show_table(
    summary[["statistic", "estimate [95% CI]"]],
    f"Differences {result.difference}. Limits of agreement: bias ± 1.96 SD, their CIs by "
    f"{LOA_CI_TEXT[loa_ci]}. "
    "Proportional bias: least-squares slope of the difference on the pair mean (0 = none). ICC(2,1): two-way "
    "random, absolute agreement; ICC(3,1): two-way mixed, consistency (Shrout & Fleiss 1979).",
)
if result.cutoffs:
    st.markdown(f"**Published cut-offs found with {pairs.method_a}, as {pairs.method_b} would read them**")
    cutoffs = result.cutoff_frame()
    by_a, by_b = f"by {pairs.method_a}", f"by {pairs.method_b}"
    cutoffs[f"{by_b} [95% CI]"] = [
        agreement_figures.with_ci(v, (lo, hi), digits)
        for v, lo, hi in zip(cutoffs[by_b], cutoffs["ci_low"], cutoffs["ci_high"], strict=True)
    ]
    for column in (by_a, f"{by_b} (regression)"):
        cutoffs[column] = [formatting.number(v, digits) for v in cutoffs[column]]
    components.show_table(
        cutoffs[["cut-off", by_a, f"{by_b} [95% CI]", f"{by_b} (regression)"]],
        "Cut-off + bias, with the bias's 95% CI; the regression column also allows for a proportional bias. "
        + " ".join(
            f"{c.threshold.label}: {c.threshold.detects}, {c.threshold.applies_to}." for c in result.cutoffs
        )
        + " Research tool, not a medical device.",
    )
    for cutoff in result.cutoffs:
        st.markdown(f"- {cutoff.statement(pairs.method_a, pairs.method_b, result.unit)}")
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
