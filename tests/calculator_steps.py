"""Steps on the Calculator page shared by its tests and the project round trip (Streamlit AppTest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def fit_on_current_cohort(at: AppTest, features: list[str]) -> AppTest:
    """Choose the model fitted on the current cohort, with these `features`, and fit it; the page after."""
    at.radio[0].set_value("Fitted on the current cohort")
    at = at.run()
    at.multiselect(key="fit_features").set_value(features)
    at = at.run()
    next(b for b in at.button if b.label.startswith("Fit the model")).click()
    return at.run()
