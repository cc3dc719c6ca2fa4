"""Bandit: EQUAL's loop live, rendered from :class:`core.equal.live.LiveLoop` (the state machine).

The live fragment refreshes every ``REFRESH_S`` s only while the loop plays; each refresh
plays as many rounds as fit in ``TICK_S`` s (at most "rounds per update"), then updates the
charts in place: SVG plotly charts and the WebGL map component for the pulls map, so no
refresh creates a WebGL context. The baselines are a :mod:`core.jobs` job polled by
``common.poll_job_panel``. Runs are committed as they happen; stored runs can be reopened and compared.
"""

from __future__ import annotations

import threading

import streamlit as st

from core.corpus.tags import TagStore, tagged_ids
from core.equal.arms import DOC_ORDERS
from core.equal.baselines import BaselineCache, baselines_job
from core.equal.export import export_pairs
from core.equal.extract import make_checked_extractor, make_extractor
from core.equal.live import LiveLoop, label_runs, newest_pairs, runs_table, stored_rounds, top_arms
from core.equal.policies import POLICIES
from core.equal.provenance import RunProvenance
from core.equal.reference import TAG_PREFIX, list_presets, load_reference, reference_from_tag, tag_choices
from core.equal.reopen import reopen_recorded
from core.equal.reward import OTReward, import_solver
from core.equal.run import BanditRun, RunConfig, encoder_embedder
from core.equal.space import ArmSpace
from core.equal.store import RunStore
from core.text import md_escape
from core.viz.bandit import (
    METRIC_HELP,
    arm_names,
    make_budget_figure,
    make_comparison_figure,
    make_reward_figure,
    make_score_bars_figure,
)
from core.viz.webgl_map import cluster_colors, prepare_points
from pages import common, why
from pages.map_component import corpus_map as map_component

DEFAULTS = RunConfig()  # the settings a new run starts from: the page offers the same

TICK_S, REFRESH_S = 0.4, 0.5
ROUNDS_PER_UPDATE = 50  # the slider's default: each refresh plays what fits in TICK_S
S = st.session_state

common.page_header("Bandit", "EQUAL's loop: each cluster is an arm; a pull extracts D documents of it and is rewarded "
                   "by how close its QA pairs sit to the reference task (optimal transport). Fewer extraction calls, "
                   "closer data.")


@st.cache_resource
def _store() -> RunStore:
    return RunStore()


@st.cache_resource(show_spinner=False)
def _warm_solver() -> threading.Thread:
    """Import the OT solver once per process in the background (5-10 s), so Start's first pull does not wait."""
    thread = threading.Thread(target=import_solver, name="warm-ot", daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner=False, max_entries=4)
def _pull_points(map_key: str, _cmap):
    """The pulls map's points (every document at its map position, coded by cluster), once per map."""
    return prepare_points(_cmap.xy[:, 0], _cmap.xy[:, 1], _cmap.labels)


@st.cache_resource(max_entries=4)
def _embedder(name: str):
    """One pair-text embedder per encoder for the process: its memo is shared by every run and baselines job."""
    return encoder_embedder(common.encoder(name))


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
# the map's encoder, not the sidebar's: while MiniLM upgrades the map in the background the map (and so every
# run) is in the static tier's space; a run keeps the embedder it started with
map_encoder = cmap.settings.encoder_name
embed = _embedder(map_encoder)
k = len(cmap.clusters)
space = ArmSpace.from_corpus_map(cmap)
names = arm_names(cmap.clusters, k)  # arms by their cluster's keywords, as the Corpus map labels them
_warm_solver()

loop: LiveLoop = S.setdefault("bd_loop", LiveLoop(_store()))
# after Start the settings are labelled as being for the next run (the live one keeps its own)
idle_view = loop.state == "idle" and S.get("bd_action") not in ("start", "step")
# the four choices a newcomer makes stay in view above Start; the rest wait folded under "More settings"
t1, t2, t3, t4 = st.columns(4)
presets = list_presets()
tags = TagStore(corpus.content_hash).tags()  # saved selections of the map (Corpus map page) are reference tasks too
preset = t1.selectbox("Reference task" if common.presenting() else "Reference task (D_r)",  # no notation presenting
                      presets + tag_choices(tags) + ["Upload…"], key="bd_preset",
                      index=presets.index("numerical-arrays") if "numerical-arrays" in presets else 0)
policy = t2.selectbox("Policy", POLICIES, key="bd_policy")
budget_kind = t3.selectbox("Budget", ["share", "calls", "cost"], key="bd_budget_kind")
budget = t4.number_input("Budget value (share: 0-1)", 0.0001, 1e9, 0.2 if budget_kind == "share" else 100.0,
                         key="bd_budget", format="%.4f")
upload = st.file_uploader("JSONL question/answer or text lines", type=["jsonl", "json", "txt"], key="bd_upload") \
    if preset == "Upload…" else None
settings_label = "More settings" if idle_view else "More settings (used by the next new run)"
with st.expander(settings_label, expanded=False, key="bd_more"):  # a key: it stays open across reruns
    c1, c2, c3 = st.columns(3)  # the policy and its prior | what a pull reads | how a pull is rewarded
    params: dict = {}
    c1.markdown("**Policy**")
    if policy == "equal":
        a = c1.selectbox("alpha", ["paper: 1/(ΣT+1)", "constant"], key="bd_alpha_kind")
        params["alpha"] = "paper" if a.startswith("paper") else c1.number_input("alpha", 0.0, 10.0, 0.001,
                                                                                format="%.4f", key="bd_alpha")
    elif policy == "ucb1":
        params["c"] = c1.number_input("c", 0.0, 10.0, 1.0, key="bd_c")
    elif policy == "thompson":
        params["sigma"] = c1.number_input("noise sigma", 0.001, 5.0, 0.1, key="bd_sigma")
    elif policy == "epsilon-greedy":
        params["epsilon"] = c1.slider("epsilon", 0.0, 1.0, 0.1, key="bd_eps")
    elif policy == "exp3":
        params["gamma"] = c1.slider("gamma", 0.01, 1.0, 0.1, key="bd_gamma")
    unplayed = c1.selectbox("Arm estimate before pulls", ["eb", "prior", "mean", "zero"], key="bd_unplayed",
                            help="eb: from the cluster's similarity to D_r, trusted as far as the rewards' variances "
                                 "say; prior: the same with a fixed weight; "
                                 "mean: the running mean reward; zero: the paper (every arm first).")
    weight = (c1.number_input("Prior weight (pseudo-pulls)", 0.0, 100.0, 4.0, key="bd_prior_w")
              if unplayed in ("prior", "eb") else 4.0)
    share = c1.toggle("Neighbour reward sharing", DEFAULTS.share_neighbours, key="bd_share")
    nb_weight = (c1.number_input("Neighbour weight", 0.0, 1.0, DEFAULTS.neighbour_weight, 0.05, key="bd_nb_w",
                                 help="What a neighbouring cluster's pull counts for an arm: 1 as much as its own "
                                      "(the paper), less pools the neighbours as weaker evidence.")
                 if share else DEFAULTS.neighbour_weight)
    c2.markdown("**Pulls**")
    B = c2.number_input("Arms per round (B)", 1, max(1, k), min(3, k), key="bd_B")
    D = c2.number_input("Documents per pull (D)", 1, 1000, 10, key="bd_D")
    first = c2.number_input("First pull of an arm (docs)", 1, int(D), min(3, int(D)), key="bd_first",
                            help="A cheap probe; set it to D for the paper's behaviour.")
    order = c2.selectbox("Document order in a cluster", list(DOC_ORDERS), key="bd_order",
                         index=DOC_ORDERS.index(DEFAULTS.doc_order),
                         help="similar: a cluster's documents most similar to D_r first (the bandit still picks "
                              "the cluster from the rewards); random: a seeded shuffle (the paper); file: corpus order")
    exhaust = c2.selectbox("Arm with < D docs left", ["partial", "strict"], key="bd_exhaust",
                           help="partial: last pull takes what is left; strict (paper): the arm is exhausted")
    stop = c2.selectbox("Stop rule", ["budget", "plateau"], key="bd_stop")
    patience = c2.number_input("Plateau patience (rounds)", 1, 1000, 20, key="bd_patience")
    c3.markdown("**Reward**")
    method = c3.selectbox("OT solver", ["emd", "sinkhorn", "ipot"], key="bd_method")
    credit = c3.selectbox("Reward credit", ["document", "pull"], key="bd_credit",
                          index=["document", "pull"].index(DEFAULTS.reward.credit),
                          help="document: each pair's cosine to the D_r examples OT moves it to, summed and divided by "
                               "the documents read (yield counts); pull: one OT distance per pull (the paper).")
    offset = c3.number_input("Reward offset (pull credit)", -2.0, 2.0, 0.12, key="bd_offset")
    estimate = c3.selectbox("Reward estimate", ["batch", "cumulative"], key="bd_estimate")
    empty = c3.selectbox("Empty pull reward (pull credit)", ["worst", "0"], key="bd_empty")
    st.slider(f"Rounds per update (each update also stops after {TICK_S} s of work)", 1, 50, ROUNDS_PER_UPDATE,
              key="bd_speed")
    kind = st.radio("Extractor", ["rules", "openai"], horizontal=True, key="bd_extractor",
                    format_func=lambda x: "Rule-based (offline)" if x == "rules" else "OpenAI-compatible endpoint")
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
    config = RunConfig(policy=policy, policy_params=params, batch_arms=int(B), docs_per_pull=int(D),
                       budget_kind=budget_kind, budget=float(budget), stop=stop, patience=int(patience),
                       reward=OTReward(method=method, offset=float(offset), estimate=estimate, credit=credit,
                                       empty_reward=0.0 if empty == "0" else "worst"),
                       extractor=kind, seed=common.seed(), share_neighbours=share, neighbour_weight=float(nb_weight),
                       doc_order=order, exhaust=exhaust,
                       unplayed=unplayed, prior_weight=float(weight), first_pull_docs=int(first))
except ValueError as exc:
    common.show_error(exc, "Settings")
    st.stop()


def _new_run() -> BanditRun:
    from core.settings import LLMSettings

    ext = make_checked_extractor(kind, None if kind == "rules" else LLMSettings(base_url.strip(), model.strip(),
                                                                                api_key))
    S["bd_ref"] = ref
    return BanditRun(config, space, embed(ref.texts()), ext, embed, store=_store(), provenance=RunProvenance.build(
        space, ref, ext), name=f"{policy} · {ref.name} · seed {config.seed}")


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
    loop.tick(max_rounds=int(S.get("bd_speed", ROUNDS_PER_UPDATE)), max_seconds=TICK_S)
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
    m[4].metric("Closeness to reference", f"{run.coverage:.3f}", help=METRIC_HELP["coverage"])
    rounds = run.rounds_frame()
    c1, c2 = st.columns([3, 2])
    if not rounds.empty:  # the main chart: closeness against extraction calls, the baselines beside it
        c1.plotly_chart(make_budget_figure({run.name: rounds}, baselines=S.get("bd_baselines")), key="bd_budget_fig")
        c2.plotly_chart(make_reward_figure(rounds), key="bd_reward")
        c2.caption("A round's reward falls as the best clusters are used up: the bandit spends its best pulls first.",
                   help=None if common.presenting() else METRIC_HELP["reward"])
    left, right = st.columns([1, 1])
    left.dataframe(top_arms(run, names=names), hide_index=True, height=300, key="bd_arms")
    right.plotly_chart(make_score_bars_figure(run.arms_frame(), names=names), key="bd_bars")
    taken = run.doc_pulls()
    st.caption(f"**Where the bandit has read**: orange dots are the {int(taken.sum()):,} documents extracted so far; "
               f"the other {len(taken) - int(taken.sum()):,} are the corpus, coloured by cluster as on the Corpus map.")
    map_component(_pull_points(f"{corpus.content_hash}:{cmap.settings}", cmap), key="bd_map", height=420,
                  highlight=taken.nonzero()[0], colors=cluster_colors(k),
                  hover_text=lambda row: f"{names[int(cmap.labels[row])]}: {corpus.texts[row]}")
    st.caption("Newest extracted pairs")
    st.dataframe(newest_pairs(run, names=names), hide_index=True, key="bd_pairs")
    if run.pairs and not loop.playing:  # the exports read every pair: built once the run holds still
        n = st.number_input("Decontamination n-gram", 3, 50, 8, key="bd_ngram")
        reference = S.get("bd_ref", ref)
        d1, d2 = st.columns(2)
        for col, shape in ((d1, "messages"), (d2, "alpaca")):
            out = export_pairs(run.pairs_frame(), reference.raw_texts(), shape=shape, n=int(n))
            col.download_button(f"Extracted pairs as {shape} JSONL ({out.n_written:,}; {out.n_removed} removed)",
                                out.data, f"d_e_{shape}.jsonl", "application/jsonl", key=f"bd_dl_{shape}",
                                help="The extracted set (D_e in the paper), without pairs that share an n-gram "
                                     "with the reference set.")
    elif run.pairs:
        st.caption("The extracted pairs can be downloaded when the run is paused or finished.")


live_panel()

why.cluster(corpus, cmap)

def _start_baselines():
    run = loop.run
    cache = _baseline_cache(corpus.content_hash, run.fingerprint, map_encoder)
    return baselines_job(run.config, space, make_extractor("rules"), embed, run.reference, cache=cache)


base_polling = common.job_running("bd_base_job")  # decided per full run: the fragment polls only while the job runs


@st.fragment(run_every=REFRESH_S if base_polling else None)
def baselines_panel() -> None:
    st.caption("**Baselines** on the same axes: random documents, every document in order, and the documents most "
               "similar to the reference set first (each document is extracted once, then every baseline replays).")
    job = common.poll_job_panel("bd_base_job", base_polling, _start_baselines,
                                start_label="Compute the baselines", start_key="bd_base", cancel_key="bd_base_cancel",
                                failed="The baselines failed", budget_key="bd_base_budget", tick_s=TICK_S)
    if job is not None and job.status == "done" and S.get("bd_baselines") is not job.result:
        S["bd_baselines"] = job.result
        st.rerun()  # the main chart draws them


if loop.run is not None and kind == "rules":
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

common.share_view("bandit", bd_link_run=None if loop.run is None else loop.run.run_id)
