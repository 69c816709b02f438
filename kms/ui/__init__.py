"""Shared Streamlit helpers: login gate, banner, sidebar, page runner, widgets."""
