"""Bandit: EQUAL's loop live, rendered from :class:`core.equal.live.LiveLoop` (the state machine).

The live fragment refreshes every ``REFRESH_S`` s only while the loop plays; each refresh
plays up to "rounds per update" rounds and at most ``TICK_S`` s of pulls. The baselines are a
:mod:`core.jobs` job polled by their own fragment. Runs are committed as they happen; stored
runs can be reopened and compared.
"""

from __future__ import annotations

import streamlit as st

from core.corpus.tags import TagStore, tagged_ids
from core.equal.baselines import BaselineCache, baselines_job
from core.equal.export import export_pairs
from core.equal.extract import make_checked_extractor, make_extractor
from core.equal.live import LiveLoop, label_runs, newest_pairs, runs_table, stored_rounds, top_arms
from core.equal.provenance import RunProvenance
from core.equal.reference import TAG_PREFIX, list_presets, load_reference, reference_from_tag, tag_choices
from core.equal.reopen import reopen_recorded
from core.equal.run import BanditRun, encoder_embedder
from core.equal.settings import PAGE_GROUPS, config_from_values, link_state
from core.equal.space import ArmSpace
from core.equal.store import RunStore
from core.text import md_escape
from core.viz.bandit import (
    make_budget_figure,
    make_comparison_figure,
    make_pulls_map_figure,
    make_reward_figure,
    make_score_bars_figure,
)
from pages import bandit_settings, common, why

TICK_S, REFRESH_S = 0.3, 0.5
S = st.session_state

common.page_header("Bandit", "EQUAL's loop: each cluster is an arm; a pull extracts D documents of it and is rewarded "
                   "by how close its QA pairs sit to the reference task (optimal transport). Fewer extraction calls, "
                   "closer data.")


@st.cache_resource
def _store() -> RunStore:
    return RunStore()


@st.cache_resource(max_entries=4)
def _baseline_cache(corpus_hash: str, map_key: str, encoder: str) -> BaselineCache:
    """Extracted pairs and embeddings shared by every baselines job on one corpus map and encoder."""
    return BaselineCache()


@st.cache_resource(max_entries=8)
def _tag_reference(choice: str, tagged: tuple, corpus_hash: str, _tags, _corpus):
    """A tag's reference task, extracted once per tag content (a rerun does not extract its documents again)."""
    return reference_from_tag(choice, _tags, _corpus, make_extractor("rules"))


try:
    cmap = common.corpus_map()
except ValueError as exc:
    common.show_error(exc, "Could not build the corpus map")
    st.stop()
corpus = cmap.corpus
embed = encoder_embedder(common.encoder(common.encoder_name()))
k = len(cmap.clusters)
space = ArmSpace.from_corpus_map(cmap)

loop: LiveLoop = S.setdefault("bd_loop", LiveLoop(_store()))
# after Start the settings are labelled as being for the next run (the live one keeps its own)
idle_view = loop.state == "idle" and S.get("bd_action") not in ("start", "step")
bandit_settings.apply_pending()  # a reopened run's (or the tuning lab's) settings, before any setting is drawn
# the four choices a newcomer makes stay in view above Start; the rest wait folded under "More settings"
t1, t2, t3, t4 = st.columns(4)
presets = list_presets()
tags = TagStore(corpus.content_hash).tags()  # saved selections of the map (Corpus map page) are reference tasks too
preset = t1.selectbox("Reference task (D_r)", presets + tag_choices(tags) + ["Upload…"], key="bd_preset",
                      index=presets.index("numerical-arrays") if "numerical-arrays" in presets else 0)
values: dict = {}  # each setting's value by its RunConfig name (core.equal.settings), drawn from its spec
for spec, col in zip(PAGE_GROUPS["main"], (t2, t3, t4)):
    bandit_settings.draw(values, spec, col)
upload = st.file_uploader("JSONL question/answer or text lines", type=["jsonl", "json", "txt"], key="bd_upload") \
    if preset == "Upload…" else None
settings_label = "More settings" if idle_view else "More settings (used by the next new run)"
with st.expander(settings_label, expanded=False, key="bd_more"):  # a key: it stays open across reruns
    c1, c2, c3 = st.columns(3)  # the policy and its prior | what a pull reads | how a pull is rewarded
    for col, title, group in ((c1, "**Policy**", "policy"), (c2, "**Pulls**", "pulls"), (c3, "**Reward**", "reward")):
        col.markdown(title)
        bandit_settings.draw_group(values, PAGE_GROUPS[group], col)
    st.slider("Rounds per update (each update also stops after 0.3 s of work)", 1, 50, 1, key="bd_speed")
    bandit_settings.draw_group(values, PAGE_GROUPS["extractor"], st)
    kind = values["extractor"]
    if kind == "openai":
        e1, e2, e3 = st.columns(3)
        base_url = e1.text_input("Base URL", key="bd_base_url", placeholder="http://127.0.0.1:8000/v1")
        model = e2.text_input("Model", key="bd_model")
        api_key = e3.text_input("API key", type="password", key="bd_key")

try:
    ref = (load_reference(upload.getvalue(), upload.name) if upload is not None else
           _tag_reference(preset, tagged_ids(tags, [preset.removeprefix(TAG_PREFIX)]), corpus.content_hash, tags,
                          corpus) if preset.startswith(TAG_PREFIX) else
           load_reference(preset if preset != "Upload…" else presets[0]))
    config = config_from_values({**values, "seed": common.seed()})
except ValueError as exc:
    common.show_error(exc, "Settings")
    st.stop()


def _new_run() -> BanditRun:
    from core.settings import LLMSettings

    ext = make_checked_extractor(kind, None if kind == "rules" else LLMSettings(base_url.strip(), model.strip(),
                                                                                api_key))
    S["bd_ref"] = ref
    return BanditRun(config, space, embed(ref.texts()), ext, embed, store=_store(), provenance=RunProvenance.build(
        space, ref, ext), name=f"{config.policy} · {ref.name} · seed {config.seed}")


def _reopen(run_id: str) -> BanditRun:
    """A stored run rebuilt on this corpus map with its own recorded inputs (refused, naming the difference)."""
    return reopen_recorded(_store(), run_id, space, embed, fallback_reference=S.get("bd_ref", ref))


def _act(action: str) -> None:
    """A button's ``on_click``: runs before the script, which applies it (``_apply``) before it
    draws the buttons and the live panel, so both show the new state and Pause stops the very
    next refresh. Applied in the script, not here, so a new run gets the settings of this run."""
    S["bd_action"] = action


def _apply(action: str) -> None:
    try:
        loop.press(action, _new_run)  # a repeated Start while playing builds nothing
        if action == "reset":
            for key in ("bd_ref", "bd_baselines", "bd_base_job"):
                S.pop(key, None)
    except ValueError as exc:
        common.show_error(exc, f"Cannot {action}")


if "bd_action" in S:
    _apply(S.pop("bd_action"))
link_run = S.pop("bd_link_run", None)  # a shared link names a stored run: reopen it, paused
if link_run and (loop.run is None or loop.run.run_id != link_run):
    try:
        loop.adopt(_reopen(link_run))
        bandit_settings.apply_config(loop.run.config)  # the controls show the linked run's settings
        st.rerun()
    except (ValueError, KeyError) as exc:
        st.warning(f"This link could not restore run {link_run}: {md_escape(exc)}. The rest of the view is shown.",
                   icon=":material/link_off:")
b1, b2, b3, b4, b5 = st.columns(5)
b1.button("Resume" if loop.state == "paused" else "Start", type="primary", key="bd_start", disabled=loop.playing,
          on_click=_act, args=("start",))
b2.button("Pause", key="bd_pause", disabled=not loop.playing, on_click=_act, args=("pause",))
b3.button("Step", key="bd_step", disabled=loop.playing, on_click=_act, args=("step",))
b4.button("Finish", key="bd_finish", disabled=loop.state not in ("playing", "paused"), on_click=_act, args=("finish",),
          help="End the run here; it is stored as finished.")
b5.button("Reset", key="bd_reset", disabled=loop.state == "idle", on_click=_act, args=("reset",),
          help="Drop the live run (stored as interrupted if unfinished: reopen it to resume).")


@st.fragment(run_every=REFRESH_S if loop.playing else None)
def live_panel() -> None:
    run = loop.run
    if run is None:
        st.info("Press **Start** to run the bandit live, or **Step** to play one round.")
        return
    was_playing = loop.playing
    loop.tick(max_rounds=int(S.get("bd_speed", 1)), max_seconds=TICK_S)
    if was_playing and not loop.playing:  # the budget is spent (or the disk is full): a full rerun stops the refresh
        st.rerun()
    if loop.problem:
        st.warning(f"Paused: {loop.problem}. The last pull is kept and is stored when you resume.",
                   icon=":material/hard_drive:")
    m = st.columns(5)
    m[0].metric("Status", loop.state)
    m[1].metric("Round", run.round)
    m[2].metric("Budget spent", f"{run.budget_fraction:.0%}")
    m[3].metric("QA pairs", f"{len(run.pairs):,}")
    m[4].metric("Reference coverage", f"{run.coverage:.3f}")
    arms = run.arms_frame()
    left, right = st.columns([1, 1])
    left.dataframe(top_arms(run), hide_index=True, height=300, key="bd_arms")
    right.plotly_chart(make_score_bars_figure(arms), key="bd_bars")
    rounds = run.rounds_frame()
    c1, c2 = st.columns(2)
    if not rounds.empty:
        c1.plotly_chart(make_reward_figure(rounds), key="bd_reward")
        c2.plotly_chart(make_budget_figure({run.name: rounds}, baselines=S.get("bd_baselines")), key="bd_budget_fig")
    st.plotly_chart(make_pulls_map_figure(cmap.xy, run.doc_pulls(), cmap.labels, corpus.ids), key="bd_map")
    st.caption("Newest extracted pairs")
    st.dataframe(newest_pairs(run), hide_index=True, key="bd_pairs")
    if run.pairs:  # inside the fragment: the counts and the files follow the run
        n = st.number_input("Decontamination n-gram", 3, 50, 8, key="bd_ngram")
        reference = S.get("bd_ref", ref)
        d1, d2 = st.columns(2)
        for col, shape in ((d1, "messages"), (d2, "alpaca")):
            out = export_pairs(run.pairs_frame(), reference.raw_texts(), shape=shape, n=int(n))
            col.download_button(f"D_e as {shape} JSONL ({out.n_written:,}; {out.n_removed} removed)", out.data,
                                f"d_e_{shape}.jsonl", "application/jsonl", key=f"bd_dl_{shape}")


live_panel()

why.cluster(corpus, cmap)

run = loop.run
if run is not None and kind == "rules" and st.button("Compute the Random / All / Avg-sim baselines (extracts "
                                                     "everything once)",
                                                     key="bd_base",
                                                     disabled=common.job_running("bd_base_job")):
    cache = _baseline_cache(corpus.content_hash, run.fingerprint, common.encoder_name())
    S["bd_base_job"] = baselines_job(run.config, space, make_extractor("rules"), embed, run.reference, cache=cache)


@st.fragment(run_every=REFRESH_S if common.job_running("bd_base_job") else None)
def baselines_panel() -> None:
    job = S.get("bd_base_job")
    if job is None:
        return
    if job.running:
        progress = job.advance(budget_s=TICK_S)
        st.progress(progress.fraction, text=progress.describe("steps"))
        if st.button("Cancel the baselines", key="bd_base_cancel"):
            job.cancel()
            st.rerun()
    if job.status == "done" and S.get("bd_baselines") is not job.result:
        S["bd_baselines"] = job.result
        st.rerun()  # the budget chart draws them; the polling stops
    if job.status == "cancelled":
        st.caption("Baselines cancelled; what was extracted is kept, so computing them again resumes.")
    if job.status == "failed":
        common.show_error(job.error, "The baselines failed")


baselines_panel()

with st.expander("Stored runs: reopen or compare"):
    try:
        runs = _store().list_runs()
    except ValueError as exc:
        common.show_error(exc, "Stored runs unavailable")
        st.stop()
    if runs.empty:
        st.write("No stored runs yet.")
    else:
        st.dataframe(runs_table(runs), hide_index=True, key="bd_runs")
        labels = label_runs(runs)
        pick = st.multiselect("Pick one run to reopen, or two to compare", list(labels),
                              format_func=lambda r: labels.get(r, r), max_selections=2, key="bd_pick")

        if len(pick) == 1 and st.button("Reopen", key="bd_reopen"):
            try:
                loop.adopt(_reopen(pick[0]))
                bandit_settings.apply_config(loop.run.config)  # every control shows the reopened run's settings
                st.rerun()
            except ValueError as exc:
                common.show_error(exc, "Cannot reopen (was it made on another corpus or clustering?)")
        if len(pick) == 2:  # resumed once per stored state, not per rerun
            frames, problems = stored_rounds(S.setdefault("bd_cmp", {}), runs, pick, _reopen, S.get("bd_ref", ref).name)
            if problems:
                common.show_error(ValueError("; ".join(problems)), "Cannot compare: could not reopen")
            else:
                st.plotly_chart(make_comparison_figure(frames[0], frames[1], labels[pick[0]], labels[pick[1]]),
                                key="bd_compare")

common.share_view("bandit", bd_link_run=None if loop.run is None else loop.run.run_id, **link_state(config))
