"""EQUAL·CTAR Explorer core: all logic, importable without Streamlit."""
