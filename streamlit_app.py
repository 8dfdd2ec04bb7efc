"""Hosted-demo entry (the Streamlit Community Cloud convention): the dashboard under a visible demo banner.

`streamlit run streamlit_app.py` shows the banner, then runs `dashboard/app.py` (page configuration and
navigation) in the same script run, so the hosted demo and `ovcf dashboard` serve the very same pages.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st

from ovcf_core import RESEARCH_NOTE

DASHBOARD_APP = Path(__file__).resolve().parent / "dashboard" / "app.py"
DEMO_BANNER = (
    "**Public demo on synthetic sample data.** Files you upload stay in this session's memory only: "
    "they are not stored on the server, not logged, and are gone when you close the tab. "
    "DICOM patient identifiers are removed before anything is shown or downloaded. "
) + RESEARCH_NOTE


def show_demo_banner() -> None:
    """Show the banner every page of the hosted demo shows above its content."""
    st.warning(DEMO_BANNER, icon="🧪")


show_demo_banner()
runpy.run_path(str(DASHBOARD_APP), run_name="__main__")
