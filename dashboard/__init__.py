"""Streamlit dashboard over ovcf_core: thin pages that read inputs, call the library and draw.

`streamlit run dashboard/app.py` sees the folder `dashboard/pages/` beside its entry script and, on a fresh
server, takes it for a legacy (v1) multipage app until `app.py` first calls `st.navigation`: a page opened
by its URL before anyone opened `/` then runs alone, under the legacy sidebar list of file names and without
`app.py` (navigation, the loaded-data line, the session store). The first page imported in that state turns
the legacy mode off and reruns, so `app.py` runs and serves the same URL path (page hashes derive from it).
"""

from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    import streamlit as st

    PagesManager.uses_pages_directory = False  # this app navigates with st.navigation in app.py
    st.rerun()
