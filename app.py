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
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import streamlit as st  # noqa: E402

from core import access  # noqa: E402
from core.text import md_escape  # noqa: E402
from pages import common, sidebar  # noqa: E402

ASSETS = Path(__file__).resolve().parent / "assets"

# the favicon is a local file: a Material-symbol page_icon is fetched from a font CDN (and fails offline)
st.set_page_config(page_title="EQUAL·CTAR Explorer", page_icon=str(ASSETS / "favicon.png"), layout="wide")

common.restore_link(None)  # a link's presentation mode and seed, before the navigation depends on them
tour = st.Page("pages/tour.py", title="Tour", icon=":material/co_present:", url_path="tour",
               visibility="visible" if common.presenting() else "hidden")  # hidden, not absent: a tour link still opens
SECTIONS = {
    "Presentation": [tour],
    "EQUAL": [
        st.Page("pages/corpus_map.py", title="Corpus map", icon=":material/scatter_plot:", url_path="corpus_map",
                default=True),
        st.Page("pages/bandit.py", title="Bandit", icon=":material/casino:", url_path="bandit"),
        st.Page("pages/tuning_lab.py", title="Tuning lab", icon=":material/tune:", url_path="tuning_lab"),
        st.Page("pages/large_map.py", title="Large corpus", icon=":material/grain:", url_path="large_map"),
    ],
    "Causal recommendation": [
        st.Page("pages/ctar_generator.py", title="CTAR generator", icon=":material/account_tree:",
                url_path="ctar_generator"),
        st.Page("pages/debiasing_lab.py", title="Debiasing lab", icon=":material/balance:", url_path="debiasing_lab"),
    ],
}
pages = st.navigation(SECTIONS)
st.session_state["_run_no"] = st.session_state.get("_run_no", 0) + 1  # a full run's number (the WebGL map reads it)
common.restore_link(pages.url_path)  # before the sidebar's widgets: a shared link sets them
common.keep_views(pages.url_path)  # a page left and come back to shows the view it had
sidebar.tour_opened(pages.url_path)  # the Tour's address alone means presentation mode
# the sidebar before any page switch: a run cut short before its widgets are drawn forgets their values
sidebar.draw_sidebar()
goto = sidebar.pending_page(pages.url_path)  # presentation mode switched on (the tour) or off (the page left)
if goto is not None:
    st.switch_page(next(p for group in SECTIONS.values() for p in group if p.url_path == goto))
try:
    pages.run()
except access.PathNotAllowedError as exc:  # a path box's refusal (core.access.gate), wherever the page read it
    common.show_error(exc)  # bad input: its message, escaped
except Exception as exc:  # a bug (even a ValueError, here): traceback to the server log under an id, one line shown
    from core.errors import describe_unhandled  # noqa: E402

    st.error(md_escape(describe_unhandled(exc, pages.title)), icon="⚠️")
