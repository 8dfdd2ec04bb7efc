"""Entry of the Streamlit app: page configuration and navigation only; pages live in dashboard/pages/."""

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent

st.set_page_config(page_title="OVCF risk screening", page_icon="🦴", layout="wide")

pages = [
    st.Page(HERE / "pages" / "home.py", title="Home", icon="🏠", default=True, url_path="home"),
    st.Page(HERE / "pages" / "data.py", title="Data", icon="📂", url_path="data"),
    st.Page(HERE / "pages" / "scans.py", title="Scans", icon="🩻", url_path="scans"),
    st.Page(HERE / "pages" / "calculator.py", title="Calculator", icon="🧮", url_path="calculator"),
]
st.navigation(pages).run()
