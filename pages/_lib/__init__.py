"""The presentation's shared code that is not a page: links (Streamlit's navigation never lists this folder)."""
