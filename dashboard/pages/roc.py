"""ROC: overlaid curves with AUC [95% CI], AUC and DeLong tables, a cut-off explorer, bootstrap CIs."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import analysis, components, state
from ovcf_core.errors import OvcfError
from ovcf_core.report import figures, style, tables

components.page_header(
    "ROC",
    "How well each indicator separates OVCF patients from controls: ROC curves with the DeLong 95% CI of "
    "the AUC, DeLong's test between indicators, and the sensitivity/specificity at any cut-off.",
)
table, settings, result = analysis.current()
components.cohort_caption(table)
result_dict = result.to_dict()
key = st.session_state[state.COHORT_KEY]
for flag in tables.direction_flags(result_dict):  # never silently shown
    st.warning(flag)

left, right = st.columns([1, 1])
with left:
    st.plotly_chart(
        analysis.roc_figure(result, key, repr(sorted(settings.items()))), key="roc", width="stretch"
    )
with right:
    st.subheader("AUC")
    aucs = tables.auc_table(result_dict)
    components.show_table(
        aucs, "DeLong 95% CI; cut-off maximising Youden's J (none is shown when every J is below 0)."
    )
    components.download_table(aucs, "ROC AUC")

comparisons = tables.delong_table(result_dict)
if not comparisons.empty:
    st.subheader("Comparison of AUCs (DeLong's test for correlated ROC curves)")
    components.show_table(comparisons, "On the n patients who have both indicators.")
    components.download_table(comparisons, "AUC comparisons")


@st.fragment
def cutoff_explorer() -> None:
    """Sensitivity, specificity, PPV and NPV at a chosen cut-off and prevalence (reruns only itself)."""
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
    youden = analysed.cutoff.threshold if analysed and analysed.cutoff else None
    youden = youden if youden is not None and np.isfinite(youden) else None
    low, high = float(np.min(values)), float(np.max(values))
    digits = style.digits_for(marker)
    step = float(10 ** (-digits))
    default = float(np.clip(youden, low, high)) if youden is not None else float(np.median(values))
    threshold = st.slider(
        f"Cut-off for {style.marker_label(marker)}",
        min_value=round(low, digits),
        max_value=round(high, digits),
        value=round(default, digits),
        step=step,
        key=f"roc_threshold_{marker}",
    )
    direction = str(analysed.auc.direction) if analysed and analysed.auc else "higher"
    try:
        metrics = analysis.threshold_metrics(table, key, marker, threshold, direction, prevalence / 100)
    except OvcfError as exc:
        st.warning(f"{style.marker_label(marker)}: {exc}")
        return
    rule = f"{'≥' if direction == 'higher' else '≤'} {style.fmt_value(marker, threshold)} = test positive"
    st.caption(
        f"Rule: {style.marker_label(marker, unit=False)} {rule} (Youden cut-off: "
        f"{style.fmt_value(marker, youden)})."
    )
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Sensitivity", style.fmt_percent(metrics.sensitivity))
    m2.metric("Specificity", style.fmt_percent(metrics.specificity))
    m3.metric("PPV", style.fmt_percent(metrics.ppv), help=f"At a prevalence of {prevalence:g}%.")
    m4.metric("NPV", style.fmt_percent(metrics.npv), help=f"At a prevalence of {prevalence:g}%.")
    st.plotly_chart(
        figures.confusion_figure(
            metrics.true_positive, metrics.false_positive, metrics.false_negative, metrics.true_negative
        ),
        key="roc_confusion",
        width="stretch",
    )


cutoff_explorer()


@st.fragment
def bootstrap_section() -> None:
    """Percentile bootstrap CIs of the AUCs, computed only when asked (with a progress bar)."""
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


bootstrap_section()
