"""Streamlit dashboard over ovcf_core: thin pages that read inputs, call the library and draw."""
