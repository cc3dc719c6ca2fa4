"""Bandit: EQUAL's loop live. Each 0.5 s tick plays up to "rounds per update" rounds and at most
``TICK_S`` s of pulls, then redraws the top arms: >= 2 updates/s with 1,000 arms. Runs are
committed as they happen and can be reopened and compared.
"""

from __future__ import annotations

import time

import streamlit as st

from core.equal.export import export_pairs
from core.equal.extract import make_checked_extractor, make_extractor
from core.equal.policies import POLICIES
from core.equal.reference import list_presets, load_reference
from core.equal.replay import replay_baselines
from core.equal.reward import OTReward
from core.equal.provenance import RunProvenance
from core.equal.reopen import reopen_recorded
from core.equal.run import BanditRun, RunConfig, encoder_embedder
from core.equal.space import ArmSpace
from core.equal.store import RunStore
from core.viz.bandit import (make_budget_figure, make_comparison_figure, make_pulls_map_figure, make_reward_figure,
                             make_score_bars_figure)
from pages import common, why

TICK_S = 0.3
S = st.session_state

common.page_header("Bandit", "EQUAL's loop: each cluster is an arm; a pull extracts D documents of it and is rewarded by "
                   "how close its QA pairs sit to the reference task (optimal transport). Fewer extraction calls, "
                   "closer data.")


@st.cache_resource
def _store() -> RunStore:
    return RunStore()


try:
    cmap = common.corpus_map()
except ValueError as exc:
    common.show_error(exc, "Could not build the corpus map")
    st.stop()
corpus = cmap.corpus
embed = encoder_embedder(common.encoder(common.encoder_name()))
k = len(cmap.clusters)
space = ArmSpace.from_corpus_map(cmap)

with st.expander("Run settings", expanded="bd_run" not in S and not common.demo_mode()):
    c1, c2, c3 = st.columns(3)
    presets = list_presets()
    preset = c1.selectbox("Reference task (D_r)", presets + ["Upload…"], key="bd_preset",
                          index=presets.index("numerical-arrays") if "numerical-arrays" in presets else 0)
    upload = c1.file_uploader("JSONL question/answer or text lines", type=["jsonl", "json", "txt"], key="bd_upload") \
        if preset == "Upload…" else None
    policy = c1.selectbox("Policy", POLICIES, key="bd_policy")
    params: dict = {}
    if policy == "equal":
        a = c1.selectbox("alpha", ["paper: 1/(ΣT+1)", "constant"], key="bd_alpha_kind")
        params["alpha"] = "paper" if a.startswith("paper") else c1.number_input("alpha", 0.0, 10.0, 0.001, format="%.4f", key="bd_alpha")
    elif policy == "ucb1":
        params["c"] = c1.number_input("c", 0.0, 10.0, 1.0, key="bd_c")
    elif policy == "thompson":
        params["sigma"] = c1.number_input("noise sigma", 0.001, 5.0, 0.1, key="bd_sigma")
    elif policy == "epsilon-greedy":
        params["epsilon"] = c1.slider("epsilon", 0.0, 1.0, 0.1, key="bd_eps")
    elif policy == "exp3":
        params["gamma"] = c1.slider("gamma", 0.01, 1.0, 0.1, key="bd_gamma")
    B = c2.number_input("Arms per round (B)", 1, max(1, k), min(3, k), key="bd_B")
    D = c2.number_input("Documents per pull (D)", 1, 1000, 10, key="bd_D")
    first = c2.number_input("First pull of an arm (docs)", 1, int(D), min(3, int(D)), key="bd_first",
                            help="A cheap probe; set it to D for the paper's behaviour.")
    budget_kind = c2.selectbox("Budget", ["share", "calls", "cost"], key="bd_budget_kind")
    budget = c2.number_input("Budget value (share: 0-1)", 0.0001, 1e9, 0.2 if budget_kind == "share" else 100.0,
                             key="bd_budget", format="%.4f")
    stop = c2.selectbox("Stop rule", ["budget", "plateau"], key="bd_stop")
    patience = c2.number_input("Plateau patience (rounds)", 1, 1000, 20, key="bd_patience")
    method = c3.selectbox("OT solver", ["emd", "sinkhorn", "ipot"], key="bd_method")
    offset = c3.number_input("Reward offset", -2.0, 2.0, 0.12, key="bd_offset")
    estimate = c3.selectbox("Reward estimate", ["batch", "cumulative"], key="bd_estimate")
    empty = c3.selectbox("Empty pull reward", ["worst", "0"], key="bd_empty")
    unplayed = c3.selectbox("Arm estimate before pulls", ["prior", "mean", "zero"], key="bd_unplayed",
                            help="prior: from the cluster's similarity to D_r, shrunk towards it; "
                                 "mean: the running mean reward; zero: the paper (every arm first).")
    weight = c3.number_input("Prior weight (pseudo-pulls)", 0.0, 100.0, 4.0, key="bd_prior_w") if unplayed == "prior" else 4.0
    share = c3.toggle("Neighbour reward sharing", True, key="bd_share")
    order = c3.selectbox("Document order in a cluster", ["random", "file"], key="bd_order")
    exhaust = c3.selectbox("Arm with < D docs left", ["partial", "strict"], key="bd_exhaust",
                           help="partial: last pull takes what is left; strict (paper): the arm is exhausted")
    st.slider("Rounds per update (each update also stops after 0.3 s of work)", 1, 50, 1, key="bd_speed")
    kind = st.radio("Extractor", ["rules", "openai"], horizontal=True, key="bd_extractor",
                    format_func=lambda x: "Rule-based (offline)" if x == "rules" else "OpenAI-compatible endpoint")
    if kind == "openai":
        e1, e2, e3 = st.columns(3)
        base_url = e1.text_input("Base URL", key="bd_base_url", placeholder="http://127.0.0.1:8000/v1")
        model = e2.text_input("Model", key="bd_model")
        api_key = e3.text_input("API key", type="password", key="bd_key")

try:
    ref = load_reference(upload.getvalue(), upload.name) if upload is not None else load_reference(
        preset if preset != "Upload…" else presets[0])
    config = RunConfig(policy=policy, policy_params=params, batch_arms=int(B), docs_per_pull=int(D),
                       budget_kind=budget_kind, budget=float(budget), stop=stop, patience=int(patience),
                       reward=OTReward(method=method, offset=float(offset), estimate=estimate,
                                       empty_reward=0.0 if empty == "0" else "worst"),
                       extractor=kind, seed=common.seed(), share_neighbours=share, doc_order=order, exhaust=exhaust,
                       unplayed=unplayed, prior_weight=float(weight), first_pull_docs=int(first))
except ValueError as exc:
    common.show_error(exc, "Settings")
    st.stop()


def _new_run() -> BanditRun:
    from core.settings import LLMSettings

    ext = make_checked_extractor(kind, None if kind == "rules" else LLMSettings(base_url.strip(), model.strip(), api_key))
    return BanditRun(config, space, embed(ref.texts()), ext, embed, store=_store(), provenance=RunProvenance.build(
        space, ref, ext), name=f"{policy} · {ref.name} · seed {config.seed}")


b1, b2, b3, b4 = st.columns(4)
start, step = b1.button("Start", type="primary", key="bd_start"), b3.button("Step", key="bd_step")
if start or step:
    try:
        if "bd_run" not in S or (start and S["bd_run"].is_done):
            S["bd_run"], S["bd_ref"] = _new_run(), ref
        S["bd_running"] = start
        if step and not S["bd_run"].is_done:
            S["bd_run"].step()
    except ValueError as exc:
        common.show_error(exc, "Cannot start" if start else "Cannot step")
if b2.button("Pause", key="bd_pause"):
    S["bd_running"] = False
if b4.button("Reset", key="bd_reset"):
    for key in ("bd_run", "bd_running", "bd_ref", "bd_baselines"):
        S.pop(key, None)


@st.fragment(run_every=0.5)
def live_panel() -> None:
    run: BanditRun | None = S.get("bd_run")
    if run is None:
        st.info("Press **Start** to run the bandit live, or **Step** to play one round.")
        return
    if S.get("bd_running") and not run.is_done:
        t0, rounds = time.perf_counter(), 0
        while not run.is_done and rounds < S.get("bd_speed", 1) and time.perf_counter() - t0 < TICK_S:
            rounds += run.play_pull() is not None
    if run.is_done and S.get("bd_running"):
        S["bd_running"] = False
        run.finish()
    state = "running" if S.get("bd_running") else ("finished" if run.is_done else "paused")
    m = st.columns(5)
    m[0].metric("Status", state)
    m[1].metric("Round", run.round)
    m[2].metric("Budget spent", f"{run.budget_fraction:.0%}")
    m[3].metric("QA pairs", f"{len(run.pairs):,}")
    m[4].metric("Reference coverage", f"{run.coverage:.3f}")
    arms = run.arms_frame()
    top = arms.sort_values("score", ascending=False).head(30)
    left, right = st.columns([1, 1])
    left.dataframe(top[["arm", "pulls", "mean", "score", "docs_left"]], hide_index=True, height=300, key="bd_arms")
    right.plotly_chart(make_score_bars_figure(arms), key="bd_bars")
    rounds = run.rounds_frame()
    c1, c2 = st.columns(2)
    if not rounds.empty:
        c1.plotly_chart(make_reward_figure(rounds), key="bd_reward")
        c2.plotly_chart(make_budget_figure({run.name: rounds}, baselines=S.get("bd_baselines")), key="bd_budget_fig")
    st.plotly_chart(make_pulls_map_figure(cmap.xy, run.doc_pulls(), cmap.labels, corpus.ids), key="bd_map")
    st.caption("Newest extracted pairs")
    st.dataframe(run.pairs_frame(last=8).iloc[::-1][["round", "cluster", "doc_id", "question", "answer"]],
                 hide_index=True, key="bd_pairs")


live_panel()

why.cluster(corpus, cmap)

run = S.get("bd_run")
if run is not None and kind == "rules" and st.button("Compute the Random / All / Avg-sim baselines (extracts everything once)",
                                                     key="bd_base"):
    with st.spinner("Extracting everything with the rule extractor, replaying the baselines…"):
        S["bd_baselines"] = replay_baselines(run.config, space, make_extractor("rules"), embed, run.reference)
if run is not None and run.pairs:
    n = st.number_input("Decontamination n-gram", 3, 50, 8, key="bd_ngram")
    reference = S.get("bd_ref", ref)
    d1, d2 = st.columns(2)
    for col, shape in ((d1, "messages"), (d2, "alpaca")):
        out = export_pairs(run.pairs_frame(), reference.raw_texts(), shape=shape, n=int(n))
        col.download_button(f"D_e as {shape} JSONL ({out.n_written:,}; {out.n_removed} removed)", out.data,
                            f"d_e_{shape}.jsonl", "application/jsonl", key=f"bd_dl_{shape}")

with st.expander("Stored runs: reopen or compare"):
    try:
        runs = _store().list_runs()
    except ValueError as exc:
        common.show_error(exc, "Stored runs unavailable")
        st.stop()
    if runs.empty:
        st.write("No stored runs yet.")
    else:
        st.dataframe(runs.drop(columns=["run_id"]), hide_index=True, key="bd_runs")
        labels = {r.run_id: f"{r.name} · {r.created:%Y-%m-%d %H:%M} · {r.status} · {r.run_id}" for r in runs.itertuples()}
        pick = st.multiselect("Pick one run to reopen, or two to compare", list(labels), format_func=labels.get,
                              max_selections=2, key="bd_pick")

        def _load(run_id: str) -> BanditRun:
            return reopen_recorded(_store(), run_id, space, embed, fallback_reference=S.get("bd_ref", ref))

        try:
            if len(pick) == 1 and st.button("Reopen", key="bd_reopen"):
                S["bd_run"], S["bd_running"] = _load(pick[0]), False
                st.rerun()
            if len(pick) == 2:  # resumed once per stored state, not per rerun
                info, cache = runs.set_index("run_id"), S.setdefault("bd_cmp", {})
                keys = [(p, int(info.docs[p]), info.status[p], S.get("bd_ref", ref).name) for p in pick]
                for key in keys:
                    if key not in cache:
                        cache[key] = _load(key[0]).rounds_frame()
                st.plotly_chart(make_comparison_figure(*(cache[x] for x in keys), labels[pick[0]], labels[pick[1]]),
                                key="bd_compare")
        except ValueError as exc:
            common.show_error(exc, "Cannot reopen (was it made on another corpus or clustering?)")
