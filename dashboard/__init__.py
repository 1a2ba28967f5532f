"""The Streamlit dashboard's logic: loading snapshots, tables, path pictures, one module per page.

`app.py` at the repository root wires the pages together (`streamlit run app.py`); everything
here is plain Python over a loaded snapshot, so tests and benchmarks call it directly too.
"""
