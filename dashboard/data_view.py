"""The Data page's drawing helpers: the current cohort, the column-mapping form and the templates."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import components, state
from ovcf_core import io, paths
from ovcf_core.column_mapping import TARGET_LABELS, TARGETS, guess_mapping, outcome_needs_positive
from ovcf_core.schema import OUTCOME

NONE = "(not in file)"


def show_current(cohort: pd.DataFrame) -> None:
    """Show the cohort every page analyses, and a way back to the synthetic sample."""
    components.cohort_caption(cohort)
    left, right = st.columns([3, 1])
    with left:
        st.dataframe(cohort.head(200), width="stretch", height=260)
        if len(cohort) > 200:
            st.caption(f"First 200 of {len(cohort):,} rows.")
    used = st.session_state.get(state.COLUMN_MAPPING)
    if used and used.get("mapping") and not st.session_state.get(state.COHORT_IS_SYNTHETIC, True):
        renamed = [
            f"`{source}` → {target}"
            for target, source in used["mapping"].items()
            if source and source != target
        ]
        if renamed:
            left.caption(f"Column mapping of {used['file']}: " + ", ".join(renamed))
    report = st.session_state.get(state.COHORT_REPORT)
    if report is not None:
        right.metric("Usable rows", f"{len(cohort):,}", help=report.summary())
    if not st.session_state.get(state.COHORT_IS_SYNTHETIC, True) and right.button(
        "Back to the synthetic sample", width="stretch"
    ):
        table, sample_report = state.load_sample_cohort()
        state.set_cohort(
            table, sample_report, f"synthetic sample cohort ({len(table)} patients)", synthetic=True
        )
        st.session_state.pop(state.ANALYSIS_SETTINGS, None)
        st.rerun()


def mapping_form(raw_table: pd.DataFrame) -> tuple[dict[str, str | None], str | None]:
    """Ask which upload column holds each cohort column (guessed, editable), and the outcome value of OVCF."""
    columns = list(raw_table.columns)
    guess = guess_mapping(columns)
    renamed = [t for t in TARGETS if guess[t] is not None and guess[t] != t]
    with st.expander("Column mapping", expanded=bool(renamed) or not guess[OUTCOME]):
        st.caption("Which column of your file holds each cohort column (names are case-insensitive).")
        exact = [t for t in TARGETS if guess[t] == t]
        if exact:
            st.caption("Found by name: " + ", ".join(f"`{t}`" for t in exact))
        mapping = dict(guess)
        grid = st.columns(3)
        options = [NONE, *columns]
        for i, target in enumerate(t for t in TARGETS if guess[t] != t):
            chosen = grid[i % 3].selectbox(
                TARGET_LABELS[target],
                options,
                index=options.index(guess[target]) if guess[target] else 0,
                key=f"map_{target}",
            )
            mapping[target] = None if chosen == NONE else chosen
    positive = None
    if mapping.get(OUTCOME):
        distinct = outcome_needs_positive(raw_table[mapping[OUTCOME]])
        if distinct:
            positive = st.selectbox(
                f"Which value of `{mapping[OUTCOME]}` means OVCF?", distinct, key="outcome_positive"
            )
    return mapping, positive


def templates_section() -> None:
    """Offer empty templates and the synthetic sample files, to start from."""
    st.subheader("Templates")
    st.caption(
        "An empty cohort table with the expected columns, and the synthetic sample files to try the tool."
    )
    from ovcf_core import raw

    t1, t2, t3 = st.columns(3)
    for column, (label, table, file_name) in zip(
        (t1, t2, t3),
        (
            ("Cohort template", raw.cohort_template(), "cohort_template.csv"),
            ("Raw template, wide (per vertebra and level)", raw.wide_template(), "raw_wide_template.csv"),
            ("Raw template, long (one measurement a row)", raw.long_template(), "raw_long_template.csv"),
        ),
        strict=True,
    ):
        column.download_button(
            f"⬇ {label} (CSV)",
            io.table_to_bytes(table, "csv"),
            file_name=file_name,
            mime="text/csv",
            width="stretch",
        )
    samples = (
        ("Synthetic sample cohort", paths.SAMPLE_COHORT, "synthetic_cohort.csv"),
        ("Synthetic raw measurements, two raters", paths.SAMPLE_RAW, "synthetic_raw_two_raters.csv"),
        ("Synthetic matching pool", paths.SAMPLE_POOL, "synthetic_matching_pool.csv"),
    )
    for column, (label, path, file_name) in zip(st.columns(3), samples, strict=True):
        if path.exists():
            column.download_button(
                f"⬇ {label} (CSV)", path.read_bytes(), file_name=file_name, mime="text/csv", width="stretch"
            )
