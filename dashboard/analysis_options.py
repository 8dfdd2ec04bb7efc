"""The analysis options a user changes on the ROC and Logistic pages, as `ovcf analyze` takes them.

Each widget writes its value to `analysis.OPTIONS` in the session (not only to widget state, which
Streamlit drops when the user leaves the page), so the ROC page, the Logistic page, Table 2 and the HTML
report all show the one analysis run with these options: `--cutoff`, `--pauc`, `--p-adjust`, `--firth`.
"""

from __future__ import annotations

import streamlit as st

from dashboard import analysis

CUTOFF_RULES = {
    "youden": "Youden's J",
    "closest_topleft": "Closest to (0, 1)",
    "sensitivity": "Fixed sensitivity",
    "specificity": "Fixed specificity",
}
ADJUST_LABELS = {"none": "None", "holm": "Holm", "fdr_bh": "Benjamini–Hochberg"}
DEFAULT_PAUC = (0.8, 1.0)


def _cutoff() -> tuple[str, float | None]:
    """Return the chosen cut-off rule and its target (a fraction) from the stored option 'rule[:target]'."""
    rule, _, target = str(analysis.options()["cutoff"]).partition(":")
    return rule, float(target) if target else None


def roc_options() -> None:
    """Draw the cut-off rule (with its target), partial AUC range and p-value adjustment, in one row."""
    rule, target = _cutoff()
    pauc = analysis.options()["pauc"]
    c1, c2, c3, c4 = st.columns([3, 2, 3, 2])
    rule = c1.selectbox(
        "Cut-off rule", list(CUTOFF_RULES), index=list(CUTOFF_RULES).index(rule),
        format_func=CUTOFF_RULES.get, key="roc_cutoff_rule",
        help="How each indicator's cut-off is chosen (as `ovcf analyze --cutoff`): Youden's J, the point "
        "closest to (0, 1), or the first cut-off reaching a sensitivity or specificity.",
    )  # fmt: skip
    text = rule
    if rule in ("sensitivity", "specificity"):
        percent = c2.number_input(
            f"Target {rule} (%)", min_value=1.0, max_value=100.0, value=100 * (target or 0.9), step=1.0,
            key="roc_cutoff_target",
        )  # fmt: skip
        text = f"{rule}:{percent / 100:g}"
    partial = c3.toggle(
        "Partial AUC", value=pauc is not None, key="roc_pauc_on",
        help="The AUC over a specificity range, McClish-corrected (as pROC partial.auc, `--pauc`).",
    )  # fmt: skip
    chosen_pauc = None
    if partial:
        low, high = c3.slider(
            "Specificity range", 0.0, 1.0, tuple(pauc or DEFAULT_PAUC), 0.05, key="roc_pauc_range"
        )
        chosen_pauc = (float(low), float(high)) if high > low else None
        if chosen_pauc is None:
            c3.caption("Choose a range wider than zero.")
    p_adjust = c4.selectbox(
        "p-value adjustment", list(ADJUST_LABELS),
        index=list(ADJUST_LABELS).index(str(analysis.options()["p_adjust"])), format_func=ADJUST_LABELS.get,
        key="roc_p_adjust",
        help="Of the comparisons between every two indicators (as `--p-adjust`).",
    )  # fmt: skip
    analysis.set_option("cutoff", text)
    analysis.set_option("pauc", chosen_pauc)
    analysis.set_option("p_adjust", p_adjust)


def chosen_cutoff_rule() -> tuple[str, float | None]:
    """Return the analysis' cut-off rule and its target (a fraction), for the cut-off explorer."""
    return _cutoff()


def logistic_options() -> None:
    """Draw the choice: Firth's likelihood for every model, or only where a variable separates the groups."""
    firth = st.toggle(
        "Firth for every model", value=bool(analysis.options()["firth"]), key="logistic_firth",
        help="Firth's penalised likelihood with profile-likelihood CIs for every model (as `ovcf analyze "
        "--firth`); off, it is used only where a variable separates the groups.",
    )  # fmt: skip
    analysis.set_option("firth", bool(firth))
