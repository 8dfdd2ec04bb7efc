"""Entry of the Streamlit app: page configuration and navigation.

Also the line naming the loaded data and the session's work kept across a browser reload (`project_store`);
pages live in dashboard/pages/.
"""

from pathlib import Path

import streamlit as st

from dashboard import project_store, state

HERE = Path(__file__).parent

st.set_page_config(page_title="OVCF risk screening", page_icon=":material/healing:", layout="wide")


def page(name: str, title: str, icon: str, **kwargs) -> st.Page:
    """Make a page of dashboard/pages/ with a Material icon (no emoji font needed) and its url path."""
    return st.Page(
        HERE / "pages" / f"{name}.py", title=title, icon=f":material/{icon}:", url_path=name, **kwargs
    )


pages = {
    "Start": [
        page("home", "Home", "home", default=True),
        page("data", "Data", "upload_file"),
        page("planning", "Study planning", "event_note"),
    ],
    "Cohort analysis": [
        page("cohort", "Cohort", "groups"),
        page("correlations", "Correlations", "scatter_plot"),
        page("roc", "ROC", "show_chart"),
        page("logistic", "Logistic", "account_tree"),
        page("validation", "Validation", "fact_check"),
    ],
    "One patient": [
        page("calculator", "Calculator", "calculate"),
    ],
    "Measurements": [
        page("scans", "Scans", "radiology"),
        page("reliability", "Reliability", "handshake"),
        page("matching", "Matching", "balance"),
    ],
    "Export": [
        page("report", "Report", "description"),
    ],
}
current = st.navigation(pages)
project_store.begin_run()
state.loaded_banner()
try:
    current.run()
finally:
    project_store.end_run()
