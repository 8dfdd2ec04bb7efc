"""The ROC page's sections that rerun on their own (Streamlit fragments).

Curve comparisons (DeLong, bootstrap, Venkatraman), the cut-off explorer (the analysis' cut-off rule marked on
the curve, likelihood ratios, bootstrap CIs, binormal smoothing, sensitivity/specificity/PPV/NPV at any cut-
off) and bootstrap CIs of the AUCs. Each takes the cohort, its digest and the analysis the page drew.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import analysis, analysis_options, components
from ovcf_core.errors import OvcfError
from ovcf_core.report import figures, style, tables

if TYPE_CHECKING:
    from ovcf_core.stats.analysis import CohortAnalysis

COMPARE_METHODS = {"delong": "DeLong", "bootstrap": "Bootstrap", "venkatraman": "Venkatraman"}


@st.fragment
def comparison_section(table: pd.DataFrame, key: str, result: CohortAnalysis) -> None:
    """Compare every two indicators' curves by the chosen test, p adjusted (reruns only itself)."""
    if len(result.auc_comparisons) == 0:
        return
    st.subheader("Comparison of AUCs")
    c1, c3 = st.columns([3, 1])
    method = c1.radio(
        "Compare curves", list(COMPARE_METHODS), format_func=COMPARE_METHODS.get, horizontal=True,
        key="roc_compare_method",
        help="DeLong's test of two correlated AUCs; pROC's stratified bootstrap test of the AUCs (D); "
        "Venkatraman's permutation test that the two curves are the same (E; crossing curves with one AUC "
        "differ).",
    )  # fmt: skip
    p_adjust = str(analysis.options()["p_adjust"])  # chosen at the top, with the other analysis options
    n = c3.select_slider(
        "Resamples / permutations", [200, 500, 1000, 2000], value=2000, key="roc_compare_n",
        disabled=method == "delong",
    )  # fmt: skip
    bar = st.progress(0.0, text="Resampling…") if method != "delong" else None

    def report(done: float) -> None:
        if bar is not None:
            bar.progress(min(done, 1.0), text="Resampling…")

    frame = analysis.comparison_table(table, key, result, method, p_adjust, n, report)
    if bar is not None:
        bar.empty()
    name = tables.ROC_TEST_NAMES[method]
    resampled = "" if method == "delong" else f" {n} seeded resamples/permutations."
    components.show_table(
        frame,
        f"{name[0].upper()}{name[1:]} on the n patients who have both indicators.{resampled}",
    )
    components.download_table(frame, "AUC comparisons")


@st.fragment
def cutoff_explorer(table: pd.DataFrame, key: str, result: CohortAnalysis, settings: dict) -> None:
    """Show sensitivity, specificity, PPV and NPV at a chosen cut-off and prevalence (reruns only itself)."""
    st.subheader("Cut-off explorer")
    markers = settings["markers"]
    c1, c2 = st.columns([1, 1])
    marker = c1.selectbox("Indicator", markers, format_func=style.marker_label, key="roc_marker")
    prevalence = c2.number_input(
        "Prevalence for PPV/NPV (%)",
        min_value=0.1,
        max_value=99.9,
        value=10.0,
        step=0.5,
        help="Default 10%: vertebral fracture prevalence in Chinese adults aged 40 and over "
        "(men 10.5%, women 9.7%; Wang et al., JAMA Netw Open 2021). The sample's own case fraction "
        "would overstate PPV.",
        key="roc_prevalence",
    )
    values = table[marker].dropna().to_numpy(dtype=float)
    if values.size == 0:
        st.warning(f"{style.marker_label(marker)} has no values.")
        return
    analysed = next((m for m in result.markers if m.marker == marker), None)
    chosen = analysed.cutoff.threshold if analysed and analysed.cutoff else None
    chosen = chosen if chosen is not None and np.isfinite(chosen) else None
    low, high = float(np.min(values)), float(np.max(values))
    digits = style.digits_for(marker)
    step = float(10 ** (-digits))
    default = float(np.clip(chosen, low, high)) if chosen is not None else float(np.median(values))
    threshold = st.slider(
        f"Cut-off for {style.marker_label(marker)}",
        min_value=round(low, digits),
        max_value=round(high, digits),
        value=round(default, digits),
        step=step,
        format=f"%.{digits}f",  # the cut-off shown as in every table (formatting.marker_value)
        key=f"roc_threshold_{marker}",
    )
    direction = str(analysed.auc.direction) if analysed and analysed.auc else "higher"
    try:
        metrics = analysis.threshold_metrics(table, key, marker, threshold, direction, prevalence / 100)
    except OvcfError as exc:
        st.warning(f"{style.marker_label(marker)}: {exc}")
        return
    rule = f"{'≥' if direction == 'higher' else '≤'} {style.fmt_value(marker, threshold)} = test positive"
    by = tables.cutoff_rule_label(str(analysis.options()["cutoff"]))
    st.caption(
        f"Rule: {style.marker_label(marker, unit=False)} {rule} (the cut-off by {by}: "
        f"{style.fmt_value(marker, chosen)})."
    )
    chosen_cutoff(table, key, result, marker, direction)
    st.markdown("**At the slider's cut-off**")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Sensitivity", style.fmt_percent(metrics.sensitivity))
    m2.metric("Specificity", style.fmt_percent(metrics.specificity))
    m3.metric("PPV", style.fmt_percent(metrics.ppv), help=f"At a prevalence of {prevalence:g}%.")
    m4.metric("NPV", style.fmt_percent(metrics.npv), help=f"At a prevalence of {prevalence:g}%.")
    components.plot(
        figures.confusion_figure(
            metrics.true_positive, metrics.false_positive, metrics.false_negative, metrics.true_negative
        ),
        key="roc_confusion",
    )


def chosen_cutoff(table: pd.DataFrame, key: str, result: CohortAnalysis, marker: str, direction: str) -> None:
    """Show the cut-off a rule picks, marked on the curve, with LR± and bootstrap CIs on a button.

    The curve may be drawn beside the binormal curve; the bootstrap CIs are stratified.
    """
    rule, target = analysis_options.chosen_cutoff_rule()  # the analysis' rule, chosen at the top
    smooth_on = st.toggle("Binormal smoothing", key="roc_binormal", help="pROC's smooth(method='binormal').")
    n_boot = 0
    asked = (marker, direction, rule, target)
    if st.session_state.get("roc_cutoff_ci_for") == asked:
        n_boot = int(st.session_state["roc_cutoff_ci_n"])
    b1, b2 = st.columns([1, 3])
    n_choice = b1.select_slider(
        "Cut-off resamples", [200, 500, 1000, 2000], value=1000, key="roc_cutoff_n_boot"
    )
    if b2.button("Bootstrap CIs of the cut-off", key="roc_cutoff_bootstrap"):
        n_boot = int(n_choice)
        st.session_state["roc_cutoff_ci_for"], st.session_state["roc_cutoff_ci_n"] = asked, n_boot
    bar = st.progress(0.0, text="Resampling…") if n_boot else None
    try:
        cut = analysis.cutoff_result(
            table, key, marker, direction, rule, target, n_boot,
            (lambda done, total: bar.progress(min(done / total, 1.0), text="Resampling…")) if bar else None,
        )  # fmt: skip
    except OvcfError as exc:
        st.warning(f"{style.marker_label(marker)}: {exc}")
        return
    finally:
        if bar is not None:
            bar.empty()
    label = tables.cutoff_rule_label(rule if target is None else f"{rule}:{target:g}")
    smooth = None
    if smooth_on:
        try:
            smooth = analysis.binormal_curve(table, key, marker, direction)
        except OvcfError as exc:
            st.info(f"{style.marker_label(marker)}: {exc}")
    left, right = st.columns([1, 1])
    with left:
        components.plot(
            analysis.cutoff_figure(table, marker, result, cut, label, smooth), key="roc_cutoff_figure"
        )
    with right:
        components.show_table(
            tables.cutoff_table(cut, marker),
            f"Cut-off by {label}. Likelihood ratios with log-method 95% CIs (as MedCalc); bootstrap CIs "
            "stratified and seeded (pROC's ci.thresholds; the cut-off's own CI re-chooses it in each "
            "resample).",
        )
        if smooth is not None:
            st.caption(
                f"Binormal AUC {style.fmt_number(smooth.auc, 3)} (a = {style.fmt_number(smooth.a, 3)}, "
                f"b = {style.fmt_number(smooth.b, 3)}; empirical AUC "
                f"{style.fmt_number(result.marker(marker).auc.auc, 3)})."  # type: ignore[union-attr]
            )


@st.fragment
def bootstrap_section(table: pd.DataFrame, key: str, result: CohortAnalysis) -> None:
    """Compute percentile bootstrap CIs of the AUCs only when asked (with a progress bar)."""
    st.subheader("Bootstrap confidence intervals")
    c1, c2 = st.columns([1, 3])
    n_boot = c1.select_slider("Resamples", [200, 500, 1000, 2000], value=1000, key="roc_n_boot")
    if not c2.button("Compute bootstrap CIs", key="roc_bootstrap"):
        st.caption(
            "Stratified (cases and controls resampled separately), seeded, so the result is reproducible."
        )
        return
    bar = st.progress(0.0, text="Resampling…")
    frame = analysis.bootstrap_table(
        table, key, result, n_boot, lambda done: bar.progress(min(done, 1.0), text="Resampling…")
    )
    bar.empty()
    components.show_table(frame, f"{n_boot} stratified bootstrap resamples, percentile 95% CI.")
