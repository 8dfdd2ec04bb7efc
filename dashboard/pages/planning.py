"""Study planning page: the sample sizes an ROC study and a prediction model need.

Cases and controls needed for an ROC study (pROC's power.roc.test) and the minimum size to develop a
prediction model (Riley et al. 2020, as pmsampsize).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import components
from ovcf_core import formatting
from ovcf_core.errors import OvcfError
from ovcf_core.stats.power import pmsampsize_binary, power_roc_test

components.page_header(
    "Study planning",
    "How many patients a study needs before it starts. The ROC part follows pROC's `power.roc.test` "
    "(Obuchowski 2004 for one AUC against 0.5; Obuchowski & McClish 1997 for two correlated AUCs), "
    "two-sided; the model part follows Riley et al. (BMJ 2020), as the R package pmsampsize.",
)

st.subheader("ROC study: cases and controls")
left, right = st.columns(2)
auc = left.number_input("Anticipated AUC", 0.51, 0.99, 0.80, 0.01, format="%.2f")
kappa = left.number_input("Controls per case (κ)", 0.1, 20.0, 1.0, 0.1)
alpha = left.number_input("Significance level (two-sided)", 0.001, 0.2, 0.05, 0.005, format="%.3f")
mode = right.radio("Solve for", ["Sample size (give the power)", "Power (give the cases)"])
if mode.startswith("Sample"):
    power, n_cases = right.number_input("Power wanted", 0.5, 0.99, 0.9, 0.01), None
else:
    power, n_cases = None, right.number_input("Cases available", 2, 100_000, 40, 1)
compare = right.checkbox("Compare with a second, correlated AUC on the same patients")
auc2 = right.number_input("Second AUC", 0.51, 0.99, 0.70, 0.01, format="%.2f") if compare else None
r = right.number_input("Correlation of the two tests", -0.99, 0.99, 0.5, 0.05) if compare else None
try:
    plan = power_roc_test(auc, kappa=kappa, alpha=alpha, power=power, n_cases=n_cases, auc2=auc2, r=r)
except OvcfError as exc:
    st.error(f"Cannot plan this study: {exc}.")
else:
    a, b, c = st.columns(3)
    a.metric("Cases needed", plan.n_cases_needed)
    b.metric("Controls needed", plan.n_controls_needed)
    c.metric("Power", formatting.percent(plan.power))
    st.caption(f"{plan.method}; unrounded {plan.n_cases:.2f} cases and {plan.n_controls:.2f} controls.")

st.subheader("Developing a prediction model: minimum sample size")
left, right = st.columns(2)
prevalence = left.number_input("Outcome prevalence", 0.01, 0.99, 0.174, 0.001, format="%.3f")
parameters = left.number_input("Candidate predictor parameters", 1, 500, 24, 1)
source = right.radio("Anticipated performance given as", ["Cox-Snell R²", "C-statistic (AUC)"])
if source == "Cox-Snell R²":
    r2, c_stat = right.number_input("Cox-Snell R²", 0.01, 0.99, 0.288, 0.001, format="%.3f"), None
else:
    r2, c_stat = None, right.number_input("C-statistic", 0.51, 0.99, 0.80, 0.01, format="%.2f")
try:
    size = pmsampsize_binary(prevalence, int(parameters), r2_cs=r2, c_statistic=c_stat)
except OvcfError as exc:
    st.error(f"Cannot compute the model sample size: {exc}.")
else:
    a, b, c = st.columns(3)
    a.metric("Patients needed", size.n)
    b.metric("Events", f"{size.events:.0f}")
    c.metric("Events per parameter", f"{size.epp:.2f}")
    components.show_table(
        pd.DataFrame(
            [
                {
                    "Criterion": x.criterion,
                    "Patients": x.n,
                    "Expected shrinkage": formatting.number(x.shrinkage, 3),
                }
                for x in size.criteria
            ]
        ),
        f"Riley et al. (2020): (i) expected shrinkage ≥ 0.9, (ii) optimism in Nagelkerke R² ≤ 0.05, (iii) "
        f"overall risk within ±0.05. Cox-Snell R² {size.r2_cs:.3f} (maximum {size.max_r2_cs:.3f} at this "
        "prevalence).",
    )
