"""EQUAL·CTAR Explorer: the router and the shared sidebar, nothing else.

Icons are Material Symbols (shipped with Streamlit), so they render without an emoji font.
URL paths are the pages' file names, as Streamlit names them before ``st.navigation`` first
runs, so a deep link opened first on a fresh server finds its page (see
``pages.common.leave_pages_directory_mode``).

An exception no page handled is shown as one line with an error id (``pages.common.show_error``);
its traceback goes to the server log only, never to the browser (``client.showErrorDetails``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import streamlit as st  # noqa: E402

from pages import common  # noqa: E402

st.set_page_config(page_title="EQUAL·CTAR Explorer", page_icon=":material/explore:", layout="wide")

pages = st.navigation(
    {
        "EQUAL": [
            st.Page("pages/corpus_map.py", title="Corpus map", icon=":material/scatter_plot:", url_path="corpus_map", default=True),
            st.Page("pages/bandit.py", title="Bandit", icon=":material/casino:", url_path="bandit"),
            st.Page("pages/large_map.py", title="Large corpus", icon=":material/grain:", url_path="large_map"),
        ],
        "Causal recommendation": [
            st.Page("pages/ctar_generator.py", title="CTAR generator", icon=":material/account_tree:", url_path="ctar_generator"),
            st.Page("pages/debiasing_lab.py", title="Debiasing lab", icon=":material/balance:", url_path="debiasing_lab"),
        ],
    }
)
common.draw_sidebar()
try:
    pages.run()
except Exception as exc:  # a bug (even a ValueError, here): traceback to the server log under an id, one line shown
    from core.errors import report_unexpected  # noqa: E402

    st.error(report_unexpected(exc, pages.title)[1], icon="⚠️")
