"""Large corpus: a map index of up to millions of documents (built by ``python -m core.corpus index``).

The scatter draws a level-of-detail sample (``MAX_DRAWN`` points, WebGL); box and lasso
selections are resolved against EVERY row of the index (``rows_in_selected_region`` on all
layout points), so a selection means all documents inside the region, not only the drawn ones.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import access
from core.corpus.align import describe_alignment
from core.corpus.selection import rows_in_selected_region
from core.corpus.views import cluster_names, ids_as_lines, large_search_table, large_selection_table
from core.text import md_escape
from core.viz.corpus_map import make_blank_figure, make_large_map_figure
from pages import common

MAX_DRAWN = 20_000

common.page_header(
    "Large corpus",
    "A corpus far larger than memory, streamed through the static encoder tier (mapped into MiniLM's space by a "
    "ridge map fitted on a sample) into a map index. "
    f"The map draws {MAX_DRAWN:,} points; box and lasso selections list every document inside.",
)


@st.cache_resource(show_spinner="Opening the index…", max_entries=2)
def _open(path: str, mtime: float):
    from core.corpus.stream import find_large_index, load_large_map

    folder = find_large_index(path)
    return None if folder is None else load_large_map(folder)


@st.cache_resource(show_spinner="Preparing the map…", max_entries=2)
def _drawn(folder: str, _lmap) -> pd.DataFrame:
    from core.corpus.stream import lod_frame

    return lod_frame(_lmap, MAX_DRAWN)


if not common.server_paths_allowed():
    st.info("Large corpora are read from paths on the server, which this browser may not type (the server only "
            "accepts them from its own machine; see core.access). Open the app on the server itself.")
    st.stop()
path = common.path_input("Corpus file (.jsonl/.parquet) or folder", "lm_path", placeholder="/data/corpus.jsonl",
                         help="The same path given to `python -m core.corpus index --corpus`; only under the "
                              "server's allowed folders (EQUALCTAR_ROOTS).")
if not path.strip():
    st.info("Index a large corpus once from the command line (streamed in chunks; static encoder tier, aligned "
            "to MiniLM on 1,024 sampled documents):\n\n"
            "`.venv/bin/python -m core.corpus index --corpus /data/corpus.jsonl`\n\nthen give its path here.")
    # while a path is typed, the browser loads plotly's code (1.2-1.5 s of the first map's open otherwise)
    st.plotly_chart(make_blank_figure(), config={"staticPlot": True, "displayModeBar": False}, key="lm_preload")
    st.stop()
try:
    source = common.server_path("lm_path")  # the roots, links followed, before any stat
except access.PathNotAllowedError as exc:
    common.show_error(exc, "Could not open the corpus")
    st.stop()
assert source is not None  # the box is not blank
if not source.exists():
    common.show_error(ValueError(f"{source} does not exist"), "Could not open the corpus")
    st.stop()
lmap = _open(str(source), source.stat().st_mtime)
if lmap is None:
    st.warning(f"{md_escape(path.strip())} has no index yet. Build it with "
               f"`python -m core.corpus index --corpus {path.strip().replace('`', '')}` "
               "(or here, for corpora of up to a few hundred thousand documents).")
    if st.button("Index it now", type="primary"):
        from core.corpus.stream import StreamFormatError, index_large_corpus

        bar = st.progress(0.0, text="Streaming the corpus…")
        try:
            index_large_corpus(source, report=lambda p: bar.progress(p.fraction, text=p.describe()),
                               roots=access.allowed_roots())  # every file of a folder under the roots too
        except (StreamFormatError, ValueError, OSError) as exc:
            common.show_error(exc, "Could not index the corpus")
            st.stop()
        _open.clear()
        st.rerun()
    st.stop()

@st.cache_resource(show_spinner=False, max_entries=2)
def _figure(folder: str, _lmap, _drawn):
    return make_large_map_figure(_drawn, cluster_names=cluster_names(_lmap))


drawn = _drawn(str(lmap.folder), lmap)
meta = lmap.meta
fig = _figure(str(lmap.folder), lmap, drawn)  # built once per index; every rerun sends the same figure
event = st.plotly_chart(fig, on_select="rerun", selection_mode=("points", "box", "lasso"), key="large_map_chart")
st.caption(f"{len(lmap):,} documents ({len(drawn):,} drawn), {meta['k']} clusters, map made by the encoder "
           f"{meta['encoder']} (embedding space `{lmap.space_id}`); indexed in {sum(meta['timings'].values()):.0f} s."
           + (f" The static vectors were {describe_alignment(meta['alignment'])}." if meta.get("alignment") else ""))

rows = rows_in_selected_region(lmap.xy, event)
st.subheader(f"Selected documents ({len(rows):,})", anchor="selected-documents")
if len(rows):
    st.dataframe(large_selection_table(lmap, rows), hide_index=True, width="stretch", height=240)
    st.download_button("Selected ids (one per line)", ids_as_lines(lmap.ids[rows]), "selection_ids.txt", "text/plain")
else:
    st.caption("Drag a box or lasso on the map to select every document inside it.")

query = st.text_input("Search by meaning", key="lm_query")
if query.strip():
    vec = lmap.query_encoder(common.encoder(meta.get("base_encoder", meta["encoder"]))).encode([query])[0]
    hits = lmap.search(vec, top_n=20)
    st.dataframe(large_search_table(lmap, hits), hide_index=True, width="stretch")
# on demand: a table drawn with the map costs the first open the data grid's code (~1.3 MB) and its drawing
if st.toggle("Show the clusters table", key="lm_clusters"):
    st.dataframe(lmap.clusters, hide_index=True, width="stretch")
