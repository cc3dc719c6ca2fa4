"""Corpus map: every document as a point, coloured by its k-means cluster (EQUAL stage B).

Display sampling: above ``MAX_POINTS`` documents the scatter draws a seeded sample and says
so. Box/lasso selections are then resolved against the FULL data (every document inside the
drawn region, ``ids_in_selected_region``); clicked points map through their ``custom_data``
id. Cluster exports, search and the cluster table always use all documents.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from core.corpus.cluster import inertia_curve, suggest_k
from core.corpus.selection import SelectionMemory, export_documents, ids_from_plotly_selection, ids_in_selected_region
from core.corpus.views import (
    cluster_at_row,
    cluster_doc_ids,
    cluster_keywords,
    cluster_table,
    document_text,
    elbow_ks,
    row_of_cluster,
    selected_documents,
)
from core.equal.reference import list_presets
from core.equal.warmup_report import STAGE_LABELS, find_warmup_reports, summarize_warmup, warmup_job
from core.text import md_escape
from core.viz.corpus_map import make_inertia_figure, make_warmup_loss_figure
from pages import common, search_panel, tags_panel, upgrade_panel

common.page_header(
    "Corpus map",
    "Each point is a document; colours are its cluster (EQUAL's arms). Click a point to read it, or pick the "
    "toolbar's box or lasso.",
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

# a popover: opening the settings does not push the map down
with st.popover("Map settings" if common.presenting() else "Map settings (model, clusters, UMAP; this corpus only)"):
    with st.form("map_settings_form"):
        c1, c2, c3 = st.columns(3)
        choices = list(dict.fromkeys([settings.encoder_name, *common.ENCODER_CHOICES.values()]))
        model = c1.selectbox("Encoder", choices, index=0, help="Model name, local path or 'hashing'.")
        k = c1.number_input("Clusters k", min_value=1, max_value=max(1, len(corpus)), value=int(settings.k), step=1)
        neighbours = c2.number_input("UMAP neighbours", min_value=2, max_value=200, value=int(settings.umap_neighbors))
        min_dist = c2.slider("UMAP min_dist", 0.0, 1.0, float(settings.umap_min_dist), 0.05)
        w2 = c3.number_input("Neighbour threshold (squared W2)", min_value=0.0, value=float(settings.w2_threshold),
                             step=0.05)
        if st.form_submit_button("Rebuild the map", type="primary"):
            common.set_map_overrides(corpus, dict(encoder_name=model, k=int(k), umap_neighbors=int(neighbours),
                                                  umap_min_dist=float(min_dist), w2_threshold=float(w2)))
            st.rerun()

try:
    cmap = common.corpus_map()
except (ValueError, RuntimeError) as exc:
    common.show_error(exc, "Could not build the corpus map")
    st.stop()
job = upgrade_panel.upgrade_job()
if job is not None:
    tier = ("static tier (model2vec distilled from MiniLM)" if cmap.settings.encoder_name.startswith("static")
            else "hashing encoder")
    st.caption(f"Map made by the **{tier}**, {md_escape(cmap.settings.encoder_name)}, so it opens in seconds; "
               f"**{md_escape(settings.encoder_name)}** is embedding the corpus in the background.")
    upgrade_panel.show_upgrade(job)

frame = cmap.documents_frame()
S = st.session_state
common.warm_encoder(cmap.settings.encoder_name)  # a first search does not wait for the query encoder to load


# the cluster table is drawn below the map, but its row selection is known before: it dims the map;
# without a row selected, a shared link's cluster (checked against this map) is highlighted
highlight = cluster_at_row(cmap, S.get("cluster_table", {}).get("selection", {}).get("rows", []))
if highlight is not None or S.get("_cm_had_rows"):
    S["cm_cluster_link"] = highlight  # a row picked, or the pick just cleared, overrides the link
S["_cm_had_rows"] = highlight is not None
if highlight is None and S.get("cm_cluster_link") is not None:
    if row_of_cluster(cmap, S["cm_cluster_link"]) is None:
        st.warning(f"This link could not restore cluster {S.pop('cm_cluster_link')}: this map has clusters "
                   f"0-{cmap.settings.k - 1}. The rest of the view is shown.", icon=":material/link_off:")
    else:
        highlight = int(S["cm_cluster_link"])

S["_cm_highlight"] = highlight  # the search panel writes the view into the URL
stars = search_panel.star_request()
S["_cm_map_stars"] = stars
hits = None if stars is None else search_panel.search(cmap, *stars)
starred = (() if hits is None else tuple(hits["doc_id"])) + tags_panel.shown_ids(corpus)  # matches, then tags
fig = common.map_figure(cmap, highlight, starred, common.seed())  # shared by sessions
if fig.layout.meta["sampled"]:
    st.info(f"Showing a random sample of {fig.layout.meta['shown']:,} of {len(frame):,} documents to keep the map "
            "responsive. Box and lasso selections, search and downloads use all documents.", icon="ℹ️")
# no scroll zoom: the wheel scrolls the page (zoom with the toolbar, or a box)
event = st.plotly_chart(fig, on_select="rerun", selection_mode=("points", "box", "lasso"), key="corpus_map_chart",
                        config={"scrollZoom": False})
st.caption(f"{len(frame):,} documents, {cmap.settings.k} clusters, map made by the encoder "
           f"{md_escape(cmap.settings.encoder_name)} (embedding space {md_escape(cmap.space_id)}), embedded by the "
           f"{cmap.engine} engine.")
search_panel.show(cmap, frame)  # under the map: its matches never push the map below the fold
memory: SelectionMemory = S.setdefault(f"cm_selection:{corpus.content_hash}", SelectionMemory())
# a search or a highlighted cluster redraws the figure, which empties the chart's selection: the memory keeps it
selected = memory.update(ids_from_plotly_selection(event) + ids_in_selected_region(frame, event),
                         token=(highlight, starred))

left, right = st.columns([2, 3])  # the clusters' keywords and representatives need the room
with left:
    st.subheader(f"Selected documents ({len(selected):,})")
    if selected:
        chosen = selected_documents(frame, selected)
        if len(selected) > 1:
            st.dataframe(chosen, hide_index=True, width="stretch", height=240)
        doc = st.selectbox("Read a document in full", chosen["doc_id"].tolist(), key="cm_doc")
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
        table, hide_index=True, width="stretch", height=300, key="cluster_table",
        on_select="rerun", selection_mode="single-row",
        column_config={"keywords": st.column_config.TextColumn("keywords", width="large"),
                       "representatives": st.column_config.ListColumn("representatives (nearest the centroid)",
                                                                      width="large")},
    )
    if highlight is not None:
        ids = cluster_doc_ids(frame, highlight)
        st.markdown(f"**Cluster {highlight}**: {len(ids):,} documents · {md_escape(cluster_keywords(cmap, highlight))}")
        c1, c2 = st.columns(2)
        c1.download_button("Cluster as JSONL", export_documents(frame, ids, "jsonl"), f"cluster_{highlight}.jsonl",
                           "application/jsonl")
        c2.download_button("Cluster as CSV", export_documents(frame, ids, "csv"), f"cluster_{highlight}.csv",
                           "text/csv")

tags_panel.show(corpus, frame)

curve_key = f"elbow:{corpus.content_hash}:{cmap.settings.encoder_name}"
with st.expander("Choose k by the elbow of the inertia curve"):
    if st.button("Compute the inertia curve"):
        with st.status("Running k-means for each k…") as status:
            st.session_state[curve_key] = inertia_curve(cmap.embeddings, elbow_ks(len(corpus)), seed=cmap.settings.seed)
            status.update(label="Inertia curve ready", state="complete")
    if curve_key in st.session_state:
        curve = st.session_state[curve_key]
        best = suggest_k(curve)
        st.plotly_chart(make_inertia_figure(curve, best), key="inertia_chart")
        st.caption(f"Suggested k = {best} (the point farthest from the chord). Set it under Map settings.")


WARMUP_JOB = "cm_warmup_job"


def _start_warmup(form: dict, corpus, cmap) -> None:
    from core.equal.extract import make_extractor
    from core.equal.reference import load_reference
    from core.equal.warmup import WarmupConfig

    # the encoder chosen, not a provisional static map's: the warm-up stays in one embedding space
    base = settings.encoder_name
    share_pct = form["share"]
    config = WarmupConfig(sample_share=share_pct / 100, epochs=form["epochs"], batch_size=form["batch"],
                          hard_negatives=form["hard"], seed=cmap.settings.seed)
    st.session_state[WARMUP_JOB] = warmup_job(corpus, base, make_extractor("rules"), config,
                                              replace(cmap.settings, encoder_name=base), load_reference(form["ref"]),
                                              base_encoder=common.encoder(base))
    st.session_state.pop(WARMUP_JOB + "_applied", None)


warm = st.session_state.get(WARMUP_JOB)
warm_polling = warm is not None and warm.running  # decided per full run: the fragment polls only while it trains


@st.fragment(run_every=0.5 if warm_polling else None)
def warmup_panel() -> None:
    job = st.session_state.get(WARMUP_JOB)
    if job is None:
        return
    if job.running and not warm_polling:  # started by this run's click: a full rerun starts the polling
        st.rerun()
    if job.running:
        p = job.progress()
        st.progress(p.fraction, text=f"{STAGE_LABELS.get(p.stage, p.stage or 'Starting')} ({p.done}%) · "
                                     f"{p.seconds:.0f} s so far" + (" · cancelling…" if job.cancelling else ""))
        st.button("Cancel the warm-up", key="cm_warmup_cancel", on_click=job.cancel, disabled=job.cancelling)
        return
    if warm_polling:  # finished while polling: one full rerun shows the saved report and stops the polling
        st.rerun()
    if job.status == "done" and not st.session_state.get(WARMUP_JOB + "_applied"):
        common.forget_encoder(job.result.warmup.model_path)
        st.session_state[WARMUP_JOB + "_applied"] = True
    if job.status == "failed" and job.error is not None:
        common.show_error(job.error, "The warm-up could not run")
    elif job.status == "cancelled":
        st.warning("Warm-up cancelled: the map and the encoder in use are unchanged.")


with st.expander("Contrastive warm-up (EQUAL stage A)"):
    base = settings.encoder_name
    st.caption("Extracts QA pairs (rule-based extractor) from a sample, fine-tunes the encoder so documents sit near "
               "what they yield, saves it, re-maps with the same k and seed, and reports what changed.")
    if base.startswith(("hashing", "static-minilm")):
        st.info("The hashing test encoder has no weights to fine-tune, nor has the static tier a transformer. Choose "
                "the packaged MiniLM or a local model folder in the sidebar to run the warm-up.", icon="ℹ️")
    with st.form("warmup_form"):
        c1, c2, c3 = st.columns(3)
        form = dict(share=c1.number_input("Sample share (%)", 0.1, 100.0, 5.0, 0.5),
                    epochs=int(c1.number_input("Epochs", 1, 20, 1)),
                    batch=int(c2.number_input("Batch size", 2, 512, 16)),
                    hard=c2.toggle("Hard negatives", help="Add 3 mined QA strings of similar documents per pair."),
                    ref=c3.selectbox("Reference set (reward)", list_presets()))
        clicked = st.form_submit_button("Run the warm-up", type="primary",
                                        disabled=base.startswith(("hashing", "static-minilm")) or warm_polling)
    if clicked:
        try:
            _start_warmup(form, corpus, cmap)
        except (ValueError, RuntimeError) as exc:
            common.show_error(exc, "The warm-up could not run")
    warmup_panel()
    saved = find_warmup_reports(corpus.content_hash)
    if saved:
        r = saved[0]
        st.markdown(f"**Latest warm-up** of {md_escape(r['base_model'])} (k={r['k']}, reference "
                    f"{md_escape(r['reference'])}): {r['n_train_pairs']} pairs from {r['n_docs_with_pairs']} of "
                    f"{r['n_docs_sampled']} sampled documents, {r['n_steps']} steps, {r['seconds']:.0f} s. Model: "
                    f"{md_escape(Path(r['model_path']).name)}")
        m1, m2, m3 = st.columns(3)
        m1.metric("ARI before vs after", "n/a" if r["ari"] is None else f"{r['ari']:.3f}", help="1 = same clustering")
        m2.metric("Reward spread within clusters", "n/a" if r["spread_after"] is None else f"{r['spread_after']:.4f}",
                  None if r["spread_change"] is None else f"{r['spread_change']:+.4f}", delta_color="inverse")
        m3.metric("Documents scored", int(r["n_scored"] or 0))
        st.dataframe(summarize_warmup(r), hide_index=True, width="stretch")
        if r.get("loss_history"):
            st.plotly_chart(make_warmup_loss_figure(r["loss_history"]), key="warmup_loss_chart")
        in_use = base == r["model_path"]
        st.button("Use the warmed-up encoder", disabled=in_use, on_click=common.use_encoder, args=(r["model_path"],),
                  help="Switch the sidebar encoder to the saved model folder." if not in_use else "Already in use.")

