"""Large corpus: a map index of up to millions of documents (built by ``python -m core.corpus index``).

The WebGL map (``pages.map_component``, regl-scatterplot) draws EVERY row of the index; a click,
box or lasso returns the selected rows themselves, and search hits are marked on the same map
without redrawing it. Hovering a point reads its text from disk.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import access
from core.corpus.align import describe_alignment
from core.corpus.index_job import IndexJob
from core.corpus.stream import SAMPLE_DOCS
from core.corpus.views import (
    DOCUMENT_HEADINGS,
    MATCH_HEADINGS,
    ids_as_lines,
    index_chunking,
    index_columns_note,
    index_notes,
    index_seconds,
    large_search_table,
    large_selection_table,
)
from core.text import md_escape
from core.viz.map_view import index_view, large_color_columns, large_hover_text, large_view
from pages import common
from pages.map_component import corpus_map

common.page_header(
    "Large corpus",
    "A corpus far larger than memory, streamed through the static encoder tier (mapped into MiniLM's space by a "
    "ridge map fitted on a sample) into a map index. "
    "The map draws every document; a click, box or lasso lists the documents it selects.",
)


@st.cache_data(ttl=30, show_spinner=False, max_entries=8)
def _stamp(path: str, mtime: float) -> str:
    """What says whether the corpus at ``path`` changed (:func:`core.corpus.stream.source_stamp`): a file's own mtime
    (in the key: seen at once); a folder's files, walked at most every 30 s (its own mtime does not change when a
    file inside is edited, and walking a large folder on every rerun would cost seconds)."""
    from core.corpus.stream import source_stamp

    return source_stamp(Path(path))


@st.cache_resource(show_spinner="Opening the index…", max_entries=2)
def _open(path: str, stamp: str, roots: tuple[str, ...]):
    """The index of ``path``, or ``None``; refused (:class:`core.corpus.stream.IndexOutsideRootsError`, not cached)
    when the command line built it from files of a folder that are links leading outside ``roots``."""
    from core.corpus.stream import open_large_index

    return open_large_index(path, roots)


@st.cache_resource(show_spinner="Colouring the map…", max_entries=4)
def _view(folder: str, column: str, _lmap, _cluster_legend):
    """The points coloured by the cluster or one of the file's own columns, with the legend, its title and note."""
    return large_view(_lmap, column, _cluster_legend)


@st.cache_resource(show_spinner="Naming the clusters…", max_entries=2)
def _labels(folder: str, _lmap):
    """Labels by zoom and the legend, from the index's keywords (once per index)."""
    return index_view(_lmap)


SAMPLE_JOB, INDEX_JOB = "lm_sample_job", "lm_index_job"
REFRESH_S, TICK_S = 1.0, 0.2
sample_polling = common.job_running(SAMPLE_JOB)  # decided per full run: a fragment polls only while its job runs
index_polling = common.job_running(INDEX_JOB)


@st.fragment(run_every=REFRESH_S if sample_polling else None)
def sample_panel() -> None:
    """Build the sample index (one-time), then open it in the path box."""
    job = common.poll_job_panel(
        SAMPLE_JOB, sample_polling, lambda: IndexJob(None, access.allowed_roots()),
        start_label=f"Build the sample index ({SAMPLE_DOCS:,} documents)", start_key="lm_sample",
        cancel_key="lm_sample_cancel", failed="Could not build the sample index", budget_key="lm_job_budget",
        tick_s=TICK_S)
    if job is not None and job.status == "done":
        del st.session_state[SAMPLE_JOB]
        st.session_state["lm_pending_path"] = str(job.result)  # the box is drawn: set its value on the next run
        st.rerun()


@st.fragment(run_every=REFRESH_S if index_polling else None)
def index_panel(source) -> None:
    """Index the corpus at ``source`` here (every file of a folder under the allowed folders too), then open it."""
    job = common.poll_job_panel(
        INDEX_JOB, index_polling, lambda: IndexJob(source, access.allowed_roots()), start_label="Index it now",
        start_key="lm_index", cancel_key="lm_index_cancel", failed="Could not index the corpus",
        budget_key="lm_job_budget", tick_s=TICK_S)
    if job is not None and job.status == "done":
        del st.session_state[INDEX_JOB]
        _open.clear()
        st.rerun()


if not common.server_paths_allowed():
    st.info("Large corpora are read from paths on the server, which this browser may not type (the server only "
            "accepts them from its own machine; see core.access). Open the app on the server itself.")
    st.stop()
if "lm_pending_path" in st.session_state:  # the sample index was just built: open it
    st.session_state["lm_path"] = st.session_state.pop("lm_pending_path")
path = common.path_input("Corpus file (.jsonl, .parquet, .csv, .tsv) or folder", common.kept_key("lm_path"),
                         placeholder="/data/corpus.jsonl",
                         help="The same path given to `python -m core.corpus index --corpus`; only under the "
                              "server's allowed folders (EQUALCTAR_ROOTS).")
if not path.strip():
    st.info("This page maps a corpus too large for memory, up to millions of documents: it is streamed once into "
            "an index (static encoder tier, aligned to MiniLM on 1,024 sampled documents; k-means; a 2-D layout), "
            "then every document is drawn here and a box or lasso lists the ones inside.\n\n"
            f"**To try it now**, build the sample: the built-in documents recombined into {SAMPLE_DOCS:,} (a "
            "minute or two, once). **For your own corpus**, give its path above, or index it from the command "
            "line: `.venv/bin/python -m core.corpus index --corpus /data/corpus.jsonl`.")
    sample_panel()
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
try:  # the index's own files are checked too: the command line, which may have built it, reads any link
    lmap = _open(str(source), _stamp(str(source), source.stat().st_mtime), tuple(map(str, access.allowed_roots())))
except access.PathNotAllowedError as exc:
    common.show_error(exc, "Could not open the index")
    index_panel(source)
    st.stop()
if lmap is None:
    st.warning(f"{md_escape(path.strip())} has no index yet. Build it with "
               f"`python -m core.corpus index --corpus {path.strip().replace('`', '')}` "
               "(or here, for corpora of up to a few hundred thousand documents).")
    index_panel(source)
    st.stop()

meta = lmap.meta
map_box, caption_box, selected_box = st.container(), st.container(), st.container()
caption_col, color_col = caption_box.columns([5, 1], vertical_alignment="center")
choices = large_color_columns(lmap)
if st.session_state.get("lm_color", "cluster") not in choices:  # a column of another index
    st.session_state["lm_color"] = "cluster"
color = color_col.selectbox("Colour by", choices, key=common.kept_key("lm_color"),
                            help="The cluster, or your file's own columns (numbers low to high, other values by their "
                                 "most frequent ones); the legend follows, and documents without a value are grey.")
map_labels, cluster_legend = _labels(str(lmap.folder), lmap)
view = _view(str(lmap.folder), color, lmap, cluster_legend)  # once per index and colouring
points = view.points
query = st.text_input("Search by meaning", key=common.kept_key("lm_query"), help="The hits are marked on the map.")
hits = None
if query.strip():
    try:  # the index's encoder may be a model folder since gone: the map stays, the search says why
        vec = lmap.encode_query(common.encoder(meta.get("base_encoder", meta["encoder"])), query)
    except (RuntimeError, ValueError, OSError) as exc:
        common.show_error(exc, "Search could not run")
    else:
        if vec is None:  # no word the encoder knows: every document would score alike, none is a hit
            st.caption("No searchable words in the query: the encoder knows none of them.")
        else:
            hits = lmap.search(vec, top_n=20)
            st.dataframe(large_search_table(lmap, hits), hide_index=True, width="stretch",
                         column_config=MATCH_HEADINGS)
# on demand: a table drawn with the map costs the first open the data grid's code (~1.3 MB) and its drawing
if st.toggle("Show the clusters table", key=common.kept_key("lm_clusters")):
    st.dataframe(lmap.clusters, hide_index=True, width="stretch")

with map_box:
    picked = corpus_map(points, key="large_map", height=600, map_labels=map_labels, colors=view.colors,
                        legend=view.legend, legend_title=view.title,
                        highlight=None if hits is None else hits["row"].to_numpy(),
                        hover_text=lambda row: large_hover_text(lmap, row, color))
if view.note:
    caption_col.caption(md_escape(view.note))
if not source.is_dir() and (old_index := index_columns_note(meta)):
    caption_col.caption(old_index)
caption_col.caption(
    f"{len(lmap):,} documents ({points.n:,} drawn), {meta['k']} clusters, map made by the encoder "
    f"{md_escape(meta['encoder'])}; indexed in {index_seconds(meta):.0f} s."
    + (f" The static vectors were {describe_alignment(meta['alignment'])}." if meta.get("alignment") else "")
    + (f" {meta['k_note']}" if meta.get("k_note") else "")
    + f" {index_chunking(meta)}"
    + " Click the map to zoom with the wheel; drag with Box or Lasso (or Shift+drag) to select.",
    help=f"Embedding space (what a search's query is embedded in, and what the index was built in): "
         f"`{lmap.space_id}`.")
notes = index_notes(meta)
if notes is not None:  # what indexing skipped or kept with a problem, each with its file and line
    with caption_box.expander(f"What indexing skipped: {notes[0]}"):
        st.dataframe(notes[1], hide_index=True, width="stretch")
rows = picked.rows
with selected_box:
    st.subheader(f"Selected documents ({len(rows):,})", anchor="selected-documents")
    if len(rows):
        st.dataframe(large_selection_table(lmap, rows), hide_index=True, width="stretch", height=240,
                     column_config=DOCUMENT_HEADINGS)
        # built when clicked, not on every rerun: a selection of a million rows is ~10 MB of ids
        st.download_button("Selected ids (one per line)", lambda: ids_as_lines(lmap.ids[rows]), "selection_ids.txt",
                           "text/plain")
    else:
        st.caption("Select documents on the map: click one, or drag a box or lasso (Shift+drag) around many.")
