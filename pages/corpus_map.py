"""Corpus map: every document as a point, coloured by its k-means cluster or any column (EQUAL stage B).

The WebGL map (``pages.map_component``) draws every document, labelled by zoom (coarse groups
zoomed out, clusters zoomed in); a click, box or lasso returns the documents' rows, a single
clicked document rings its nearest neighbours, search matches and shown tags are stars, and a
cluster picked in the table (or named by a link) is highlighted, all without redrawing the points.
"""

from __future__ import annotations

import streamlit as st

from core.corpus.cluster import inertia_curve, suggest_k
from core.corpus.selection import SelectionMemory, export_documents
from core.corpus.views import (
    DOCUMENT_HEADINGS,
    MATCH_HEADINGS,
    cluster_doc_ids,
    cluster_keywords,
    cluster_table,
    cluster_table_key,
    document_text,
    elbow_ks,
    linked_cluster,
    map_form,
    selected_documents,
    settings_from_form,
    stand_in_caption,
)
from core.text import counted, md_escape
from core.ui_state import kept_notes
from core.viz.corpus_map import make_inertia_figure
from core.viz.map_view import cluster_rows, color_columns, ids_of, nearest_neighbours, rows_of
from pages import common, search_panel, tags_panel, upgrade_panel, warmup_panel
from pages.map_component import cluster_labels, colored_view, corpus_map, selection_before

common.page_header(
    "Corpus map",
    "Each point is a document, coloured by its cluster (EQUAL's arms) or by what Colour by, under the map, names. "
    "Click a point to read it, or pick the toolbar's box or lasso.",
)

try:
    corpus, report = common.corpus_source()
    settings = common.map_settings(corpus)  # a local model path passes core.access.gate_model here
except ValueError as exc:
    common.show_error(exc, "Could not open the corpus or its encoder")
    st.stop()

if report is not None:
    with st.expander(f"Load report: {md_escape(report.summary())}",
                     expanded=bool(report.issues) and len(report.issues) < 20):
        if report.issues:
            st.dataframe(report.to_frame(), hide_index=True, width="stretch")
        else:
            st.write("Every record was loaded as is.")


def _rebuild(values: dict) -> None:
    """The form's values become this corpus's map settings, or a refusal in the form's words (the boxes set no
    bounds of their own: a browser's bound turned a box red and Rebuild then rebuilt the old settings, silently)."""
    outcome = settings_from_form(settings, values, len(corpus))
    if outcome.refused:
        st.session_state["map_refused"] = outcome.refused
        return
    st.session_state.pop("map_refused", None)
    common.set_map_overrides(corpus, values)
    st.rerun()


# a popover: opening the settings does not push the map down
with st.popover("Map settings" if common.presenting() else "Map settings (model, clusters, UMAP; this corpus only)"):
    with st.form("map_settings_form"):  # its boxes as core declares them; a number box sets no bounds (see above)
        boxes = map_form(settings, len(corpus), common.ENCODER_CHOICES.values())
        box = boxes["encoder_name"]
        model = st.selectbox(box.label, box.options, index=0, help=box.help)  # whole width
        c1, c2, c3 = st.columns(3)
        box = boxes["k"]
        k = c1.number_input(box.label, value=box.value, step=box.step, help=box.help)
        box = boxes["umap_neighbors"]
        neighbours = c2.number_input(box.label, value=box.value, step=box.step, help=box.help)
        box = boxes["umap_min_dist"]
        min_dist = c2.slider(box.label, box.lo, box.hi, box.value, box.step, help=box.help)
        box = boxes["w2_threshold"]
        w2 = c3.number_input(box.label, value=box.value, step=box.step, help=box.help)
        if st.form_submit_button("Rebuild the map", type="primary"):
            _rebuild(dict(encoder_name=model, k=k, umap_neighbors=neighbours, umap_min_dist=min_dist, w2_threshold=w2))
    # each refusal's place is drawn on every run: a valid Rebuild's rerun clears a refusal at once, not after the
    # new map is built (minutes on a large corpus, the old "Not applied" faded beside the values being applied)
    refused_here, refused_map = st.empty(), st.session_state.get("map_refused")
    if refused_map:  # where the eye is while the popover stays open
        refused_here.error(f"Not applied: {md_escape(refused_map)}.", icon=":material/error:")
refused_under = st.empty()
if refused_map:  # and under it, once it is closed (it covers this one)
    refused_under.error(f"Map settings not applied: {md_escape(refused_map)}. The map keeps its settings.",
                        icon=":material/error:")

try:
    cmap = common.corpus_map()
except (ValueError, RuntimeError) as exc:
    common.show_error(exc, "Could not build the corpus map")
    st.stop()
job = upgrade_panel.upgrade_job()
if job is not None:
    st.caption(stand_in_caption(cmap.settings.encoder_name, settings.encoder_name))
    upgrade_panel.show_upgrade(job)

if cmap.k_note:  # fewer clusters than asked: never a cluster of no document
    st.info(f"{cmap.k_note} Every cluster holds a document.", icon=":material/info:")
frame = cmap.documents_frame()
S = st.session_state
common.warm_encoder(cmap.settings.encoder_name)  # a first search does not wait for the query encoder to load
MAP_KEY = "corpus_map_webgl"

# the cluster table is drawn below the map, but its row selection is known before: it dims the map;
# without a row selected, a shared link's cluster (checked against this map) is highlighted
TABLE_KEY = cluster_table_key(cmap)
highlight, lost = linked_cluster(S, cmap, S.get(TABLE_KEY, {}).get("selection", {}).get("rows", []))
said = [] if lost is None else [lost]  # what this page could not restore (a link's cluster, column or map version)

S["_cm_highlight"] = highlight  # the search panel writes the view into the URL
stars = search_panel.star_request()
S["_cm_map_stars"] = stars
hits = None if stars is None else search_panel.search(cmap, *stars)
starred = (() if hits is None else tuple(hits["doc_id"])) + tags_panel.shown_ids(corpus)  # matches, then tags
# the WebGL map's selection counter is the token: an empty selection under a new one is the user deselecting
memory: SelectionMemory = S.setdefault(f"cm_selection:{corpus.content_hash}", SelectionMemory(counter=True))
if S.get("cm_color", "cluster") not in color_columns(frame):  # a link's column this corpus does not have
    said.append(f"This map cannot be coloured by {md_escape(str(S['cm_color']))}: this corpus has the columns "
                f"{md_escape(', '.join(color_columns(frame)))}. Coloured by cluster.")
    S["cm_color"] = "cluster"
labels = cluster_labels(cmap)
view = colored_view(cmap, S.get("cm_color", "cluster"), labels)
if S.get("cm_map_link") not in (None, view.points.version):
    said.append(f"This link's map version {md_escape(S.pop('cm_map_link'))} no longer exists (the corpus, its "
                f"encoder or the map settings changed since); the current version, {view.points.version}, is drawn.")
# said on every run until the corpus or the colouring changes: the map's own first rerun (its "have" state) must not
# take the warning away
if notes := kept_notes(S, "_cm_notes", (corpus.content_hash, S.get("cm_color", "cluster")), said):
    st.warning("\n\n".join(notes), icon=":material/link_off:")
S["_cm_version"] = view.points.version  # the search panel writes it into the URL
# the browser's selection is known before the map is mounted: a single clicked document rings its neighbours
before = selection_before(view.points, MAP_KEY)
selected = memory.update(ids_of(frame, before.rows), token=before.seq, stale=before.stale)  # kept when rebuilt
near = nearest_neighbours(cmap, selected[0]) if len(selected) == 1 else None
corpus_map(view.points, key=MAP_KEY, labels=view.hover, colors=view.coloring.colors, height=600,
           highlight=cluster_rows(frame, highlight), highlight_key=str(memory.clears),
           stars=rows_of(frame, starred), marks=None if near is None else rows_of(frame, near["doc_id"]),
           map_labels=labels, legend=view.coloring.legend, legend_title=view.title)
if view.note:
    st.caption(md_escape(view.note))
c1, c2 = st.columns([4, 1], vertical_alignment="center")  # [5, 1] cut "length (characters)" at 1440 px
c1.caption(f"{counted(len(frame), 'document')}, {counted(cmap.k, 'cluster')}, map made by the encoder "
           f"{md_escape(cmap.settings.encoder_name)}, embedded by the "
           f"{cmap.engine} engine. Click a point to read it and ring its nearest neighbours; drag with Box or Lasso "
           "(or Shift+drag) to select; click the map to zoom with the wheel; the legend hides and shows.",
           help=f"Embedding space (what searches and Bandit runs on this map are embedded in): `{cmap.space_id}`.")
c2.selectbox("Colour by", color_columns(frame), key="cm_color",
             help="The cluster, the source (file and line), your file's own columns (numbers low to high, "
                  "other values by their most frequent ones), the id or the length; the legend follows, and "
                  "documents without a value are grey.")
search_panel.show(cmap, frame)  # under the map: its matches never push the map below the fold

left, right = st.columns([2, 3])  # the clusters' keywords and representatives need the room
with left:
    st.subheader(f"Selected documents ({len(selected):,})")
    if selected:
        chosen = selected_documents(frame, selected)
        if len(selected) > 1:
            st.dataframe(chosen, hide_index=True, width="stretch", height=240, column_config=DOCUMENT_HEADINGS)
        doc = st.selectbox("Read a document in full", chosen["doc_id"].tolist(), key="cm_doc")
        if near is not None:
            st.caption(f"Nearest neighbours of {md_escape(selected[0])} (ringed on the map), by cosine similarity")
            st.dataframe(near, hide_index=True, width="stretch", height=213, column_config=MATCH_HEADINGS)
        with st.expander(f"Full text of {md_escape(doc)}", expanded=True):
            st.text(document_text(frame, doc))
        c1, c2, c3 = st.columns(3)
        c1.download_button("JSONL", export_documents(frame, selected, "jsonl"), "selection.jsonl", "application/jsonl",
                           help="The selected documents as JSONL")
        c2.download_button("CSV", export_documents(frame, selected, "csv"), "selection.csv", "text/csv",
                           help="The selected documents as CSV")
        c3.button("Clear", help="Clear the selection", on_click=memory.clear, key="cm_clear")
        tags_panel.save_selection(corpus, frame, selected)
    else:
        st.caption("Click a point, or drag a box or lasso on the map, to list documents here.")
with right:
    st.subheader("Clusters")
    table = cluster_table(cmap)
    st.dataframe(
        table, hide_index=True, width="stretch", height=300, key=TABLE_KEY,
        on_select="rerun", selection_mode="single-row",
        column_config={"keywords": st.column_config.TextColumn("keywords", width="large"),
                       "representatives": st.column_config.ListColumn("representatives (nearest the centroid)",
                                                                      width="large")},
    )
    if highlight is not None:
        ids = cluster_doc_ids(frame, highlight)
        st.markdown(f"**Cluster {highlight}**: {counted(len(ids), 'document')} · "
                    f"{md_escape(cluster_keywords(cmap, highlight))}")
        c1, c2 = st.columns(2)
        c1.download_button("Cluster as JSONL", export_documents(frame, ids, "jsonl"), f"cluster_{highlight}.jsonl",
                           "application/jsonl")
        c2.download_button("Cluster as CSV", export_documents(frame, ids, "csv"), f"cluster_{highlight}.csv",
                           "text/csv")

tags_panel.show(corpus, frame)

curve_key = f"elbow:{corpus.content_hash}:{cmap.settings.encoder_name}"
with st.expander("Choose k by the elbow of the inertia curve"):
    if not elbow_ks(len(corpus)):  # k-means cannot make 2 clusters of one document: there is no curve
        st.caption(f"The curve compares k = 2, 5, 10, … clusters: this corpus has {counted(len(corpus), 'document')}, "
                   "too few for two clusters.")
    elif st.button("Compute the inertia curve"):
        with st.status("Running k-means for each k…") as status:
            st.session_state[curve_key] = inertia_curve(cmap.embeddings, elbow_ks(len(corpus)), seed=cmap.settings.seed)
            status.update(label="Inertia curve ready", state="complete")
    if curve_key in st.session_state:
        curve = st.session_state[curve_key]
        best = suggest_k(curve)
        st.plotly_chart(make_inertia_figure(curve, best), key="inertia_chart")
        st.caption(f"Suggested k = {best} (the point farthest from the chord). Set it under Map settings.")

warmup_panel.show(corpus, cmap, settings)
