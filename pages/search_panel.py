"""The Corpus map's search by meaning: a fragment that lists the matches without re-sending the map.

The page asks :func:`star_request` and :func:`search` for the stars it draws, then calls :func:`show`.
"""

from __future__ import annotations

import streamlit as st

from core.corpus.views import MATCH_HEADINGS, search_table
from core.text import md_escape
from pages import common

S = st.session_state


def star_request() -> tuple[str, int] | None:
    """The search the map should star: ``(query, matches)`` with the toggle on and a query typed, else None."""
    query = str(S.get("cm_query", "")).strip()
    return (query, int(S.get("cm_top_n", 20))) if S.get("cm_star") and query else None


def search(cmap, query: str, top_n: int):
    """The map's nearest documents to ``query``, kept for the next run (the panel and the stars ask alike)."""
    key = (cmap.corpus.content_hash, repr(cmap.settings), cmap.space_id, query, top_n)  # this map's: its clusters
    if S.get("_cm_search", (None,))[0] != key:
        S["_cm_search"] = (key, cmap.search(query, common.encoder(cmap.settings.encoder_name), top_n=top_n))
    return S["_cm_search"][1]


@st.fragment
def show(cmap, frame) -> None:
    """Search by meaning. A fragment: a query reruns only this panel, so the map is not re-sent.

    A changed figure is a new chart in the browser (WebGL context and all, ~1 s at 3,000 points on
    a CPU-only machine), so the map stars the matches only when asked (the toggle), and then a
    query redraws the page.
    """
    q1, q2, q3 = st.columns([4.6, 1.4, 1.3], vertical_alignment="bottom")
    query = q1.text_input("Search by meaning", placeholder="e.g. parse a date from a string", key="cm_query")
    S.setdefault("cm_top_n", 20)  # a link's or the kept value (routing.keep_views): no widget default
    top_n = q2.slider("Matches", 5, 100, key="cm_top_n")
    q3.toggle("Star on map", key="cm_star", help="Redraws the map with the matches as stars (a second or two "
              "at this size); off, a search answers here without redrawing the map.")
    if star_request() != S.get("_cm_map_stars"):  # the map shows other stars than asked: redraw the page
        st.rerun(scope="app")
    if query.strip():
        hits = search(cmap, query, top_n)
        if hits.empty:  # zeros: every document would score alike, none is nearest
            st.caption(f"No searchable words in “{md_escape(query)}”: the encoder "
                       f"{md_escape(cmap.settings.encoder_name)} knows none of them. Try other words.")
        else:
            st.markdown(f"**Nearest documents to “{md_escape(query)}”** · {len(hits)} best first"
                        + ("" if S.get("cm_star") else " · turn on *Star on map* to see where they lie"))
            st.dataframe(search_table(hits, frame), hide_index=True, width="stretch", height=213,
                         column_config=MATCH_HEADINGS)
    common.share_view("", cm_cluster_link=S.get("_cm_highlight"), cm_map_link=S.get("_cm_version"))
    common.keep_view_now()  # this fragment's runs alone: the search typed survives leaving the page
