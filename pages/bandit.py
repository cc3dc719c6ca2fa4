"""Bandit: EQUAL's loop live, rendered from :class:`core.equal.live.LiveLoop` (the state machine).

The live fragment refreshes every ``REFRESH_S`` s only while the loop plays; each refresh
plays as many rounds as fit in ``TICK_S`` s (at most "rounds per update"), then updates the
charts in place: SVG plotly charts and the WebGL map component for the pulls map, so no
refresh creates a WebGL context. The baselines are a :mod:`core.jobs` job polled by
``common.poll_job_panel``. Runs are committed as they happen; stored runs can be reopened and compared.
"""

from __future__ import annotations

import time

import streamlit as st

from core.corpus.tags import TagStore
from core.equal.baselines import baselines_job
from core.equal.live import LiveLoop, new_live_run, newest_pairs, reopen_shown, shown_state, top_arms
from core.equal.reference import (
    DEFAULT_PRESET,
    MAX_REFERENCE_BYTES,
    MAX_REFERENCE_EXAMPLES,
    list_presets,
    preset_label,
    tag_choice_now,
    tag_choices,
)
from core.equal.reopen import OtherMapError
from core.equal.run import BanditRun
from core.equal.settings import PAGE_GROUPS, config_from_values, link_state
from core.equal.space import ArmSpace
from core.text import md_escape
from core.viz.bandit import (
    METRIC_HELP,
    arm_names,
    make_budget_figure,
    make_reward_figure,
    make_score_bars_figure,
    score_label,
)
from core.viz.webgl_map import cluster_colors
from pages import bandit_panels, bandit_settings, common, why
from pages.map_component import corpus_map as map_component

TICK_S, REFRESH_S = 0.4, 0.5
ROUNDS_PER_UPDATE = 50  # the slider's default: each refresh plays what fits in TICK_S
S = st.session_state
PAGE_START = time.perf_counter()  # a full run's time to its charts: the baselines' first time left adds it

common.page_header("Bandit", "EQUAL's loop: each cluster is an arm; a pull extracts documents of it and is rewarded "
                   "by how close its QA pairs sit to the reference task (optimal transport). The default policy reads "
                   "the documents most similar to the task, learning from each pull which kind yields nothing. Fewer "
                   "extraction calls, closer data.")

bandit_panels.warm_solver()  # first: on a cold start the map and the encoder load for seconds before Start is drawn

try:
    cmap = common.corpus_map()
except ValueError as exc:
    common.show_error(exc, "Could not build the corpus map")
    st.stop()
corpus = cmap.corpus
# the map's encoder, not the sidebar's: while MiniLM upgrades the map in the background the map (and so every
# run) is in the static tier's space; a run keeps the embedder it started with
map_encoder = cmap.settings.encoder_name
embed = bandit_panels.embedder(map_encoder)
k = len(cmap.clusters)
space = ArmSpace.from_corpus_map(cmap)
names = arm_names(cmap.clusters, k)  # arms by their cluster's keywords, as the Corpus map labels them

loop: LiveLoop = S.setdefault("bd_loop", LiveLoop(bandit_panels.store()))
# after Start the settings are labelled as being for the next run (the live one keeps its own)
idle_view = loop.state == "idle" and S.get("bd_action") not in ("start", "step")
bandit_settings.apply_pending()  # a reopened run's (or the tuning lab's) settings, before any setting is drawn
# the four choices a newcomer makes stay in view above Start; the rest wait folded under "More settings"
t1, t2, t3, t4 = st.columns(4)
presets = list_presets()
tags = TagStore(corpus.content_hash).tags()  # saved selections of the map (Corpus map page) are reference tasks too
S.setdefault("bd_preset", DEFAULT_PRESET if DEFAULT_PRESET in presets else presets[0])  # a link or the lab may set it
if (followed := tag_choice_now(S["bd_preset"], tags)) != S["bd_preset"]:  # a tag renamed on the Corpus map
    S["bd_preset"] = followed  # stays chosen here
preset = t1.selectbox("Reference task", presets + tag_choices(tags) + [bandit_panels.UPLOAD], key="bd_preset",
                      format_func=preset_label,  # a preset in words; its slug stays the value (and the link's)
                      help="A few examples of the downstream task (D_r in the paper): each pull is rewarded by how "
                      "close its pairs sit to them.")
values: dict = {}  # each setting's value by its RunConfig name (core.equal.settings), drawn from its spec
for spec, col in zip(PAGE_GROUPS["main"], (t2, t3, t4)):
    bandit_settings.draw(values, spec, col)
upload = st.file_uploader(  # a reference set's own limit: the browser refuses a larger file before sending it
    "JSONL question/answer or text lines", type=["jsonl", "json", "txt"], key="bd_upload",
    max_upload_size=MAX_REFERENCE_BYTES >> 20, help=f"A few examples of the task: at most "
    f"{MAX_REFERENCE_BYTES >> 20} MiB and {MAX_REFERENCE_EXAMPLES:,} examples.",
) if preset == bandit_panels.UPLOAD else None
llm = bandit_settings.draw_more(values, idle_view, TICK_S, ROUNDS_PER_UPDATE)  # the rest, folded; an endpoint
kind = values["extractor"]

ref, config = None, None  # None: a setting is wrong; they are for the next run, so a live run stays on screen
try:
    ref = bandit_panels.chosen_reference(preset, upload, presets, tags, corpus)
    config = config_from_values({**values, "seed": common.seed()})
except ValueError as exc:
    common.show_error(exc, "Settings" if loop.run is None else "Settings of the next run (the run below goes on)")
    if loop.run is None:
        st.stop()
bandit_panels.next_run_note(loop, config, ref)
if config is not None and config.deterministic:  # issue #28: say so, or a seed that changes nothing reads as a bug
    st.caption("These settings are deterministic: the seed changes nothing. An **Order exploration** above 0 lets "
               "runs spread over seeds.")


def _new_run() -> BanditRun:
    if config is None or ref is None:
        raise ValueError("a setting above is not valid (its message names it)")
    S["bd_ref"] = ref
    run = bandit_panels.hold(new_live_run(config, space, ref, embed, bandit_panels.store(), llm))
    S.setdefault("bd_refs", {})[run.run_id] = ref  # its export is decontaminated against it (run_reference)
    return run


def _reopen(run_id: str) -> BanditRun:
    """A stored run rebuilt on this corpus map with its own recorded inputs, named as the page lists it
    (:func:`core.equal.live.reopen_shown`)."""
    try:
        run, run_ref = reopen_shown(bandit_panels.store(), run_id, space, embed, S.get("bd_ref", ref), endpoint=llm)
    except OtherMapError as exc:  # a run of the static map a fresh install draws first, once MiniLM has replaced it
        raise OtherMapError(f"{exc}. Choose '{common.encoder_choice(exc.encoder)}' under Encoder in the sidebar, "
                            "then pick the run again under Stored runs", exc.encoder) from None
    S.setdefault("bd_refs", {})[run_id] = run_ref  # its own reference set, not the box's current choice
    return bandit_panels.hold(run)


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
        bandit_panels.offer_its_map(exc, link_run, "bd_link_other_map")
new_ok = config is not None  # a wrong setting: Start and Step would build a run of the wrong settings
b1, b2, b3, b4, b5 = st.columns(5)
b1.button("Resume" if loop.state == "paused" else "Start", type="primary", key="bd_start",
          disabled=not loop.enabled("start", new_ok), on_click=_act, args=("start",))
b2.button("Pause", key="bd_pause", disabled=not loop.enabled("pause"), on_click=_act, args=("pause",))
b3.button("Step", key="bd_step", disabled=not loop.enabled("step", new_ok), on_click=_act, args=("step",))
b4.button("Finish", key="bd_finish", disabled=not loop.enabled("finish"), on_click=_act, args=("finish",),
          help="End the run here; it is stored as finished.")
b5.button("Reset", key="bd_reset", disabled=not loop.enabled("reset"), on_click=_act, args=("reset",),
          help="Drop the live run (stored as interrupted if unfinished: reopen it to resume).")


@st.fragment(run_every=REFRESH_S if loop.playing else None)
def live_panel() -> None:
    run = loop.run
    if run is None:
        st.info("Press **Start** to run the bandit live, or **Step** to play one round.")
        return
    was_playing = loop.playing
    # a new run shows its first round as soon as it is played; later refreshes play what fits in TICK_S
    loop.tick(max_rounds=1 if run.round == 0 else int(S.get("bd_speed", ROUNDS_PER_UPDATE)),
              max_seconds=S.get("bd_tick_s", TICK_S))  # bd_tick_s: tests, whose machine's clock is no measure
    if was_playing and not loop.playing:  # the budget is spent (or the disk is full): a full rerun stops the refresh
        st.rerun()
    if loop.problem:
        st.warning(f"Paused: {loop.problem}. The last pull is kept and is stored when you resume.",
                   icon=":material/hard_drive:")
    if shown_state(loop) == "stopped" and run.stop_note:
        st.warning(run.stop_note, icon=":material/cloud_off:")
    rounds = run.rounds_frame()  # a row per round begun: the Round metric counts them as the charts do, from 1
    m = st.columns(5)
    m[0].metric("Status", shown_state(loop))
    m[1].metric("Round", len(rounds))
    m[2].metric("Budget spent", f"{run.budget_fraction:.0%}")
    m[3].metric("QA pairs", f"{len(run.pairs):,}")
    m[4].metric("Closeness to reference", f"{run.coverage:.3f}", help=METRIC_HELP["coverage"])
    if loop.playing and S.get("bd_charts_of") != run.run_id:  # a new run's first numbers go out alone: the browser
        S["bd_charts_of"] = run.run_id  # shows them before it mounts the charts and the map (seconds on a busy CPU),
        st.caption("Drawing the charts…")  # which the next refresh, 0.5 s later, draws
        return
    c1, c2 = st.columns([3, 2])
    if not rounds.empty:  # the main chart: closeness against extraction calls, the baselines beside it
        c1.plotly_chart(make_budget_figure({run.name: rounds}, baselines=S.get("bd_baselines")), key="bd_budget_fig")
        if S.get("bd_baselines") is not None:  # the job measures how long its curves took to show (once)
            S["bd_base_job"].did_show()
        c2.plotly_chart(make_reward_figure(rounds), key="bd_reward")
        c2.caption("Dots: each round's reward; line: the mean so far. Rewards tend to fall as the best documents are "
                   "used up (the policy reads what it expects to pay first); one round can still land low or high.",
                   help=None if common.presenting() else METRIC_HELP["reward"])
    left, right = st.columns([1, 1])
    arms = run.arms_frame()  # once per refresh: the learned policy scores every unread document for it
    left.dataframe(top_arms(run, names=names, arms=arms), hide_index=True, height=300, key="bd_arms")
    right.plotly_chart(make_score_bars_figure(arms, names=names, score_label=score_label(run.config.policy)),
                       key="bd_bars")
    taken = run.doc_pulls()
    st.caption(f"**Where the bandit has read**: orange dots are the {int(taken.sum()):,} documents extracted so far; "
               f"the other {len(taken) - int(taken.sum()):,} are the corpus, coloured by cluster as on the Corpus map.")
    map_component(bandit_panels.pull_points(f"{corpus.content_hash}:{cmap.settings}", cmap), key="bd_map", height=420,
                  highlight=taken.nonzero()[0], colors=cluster_colors(k),
                  hover_text=lambda row: f"{names[int(cmap.labels[row])]}: {corpus.texts[row]}")
    st.caption("Newest extracted pairs")
    st.dataframe(newest_pairs(run, names=names), hide_index=True, key="bd_pairs")
    if (run_ref := S.get("bd_refs", {}).get(run.run_id)) is not None:  # the run's own reference set: a reopened
        bandit_panels.downloads(run, run_ref, loop.playing)  # run's export was checked against the box's choice


live_panel()
S["bd_drawn_s"] = time.perf_counter() - PAGE_START  # (a full run: a fragment's reruns do not run this line)

why.cluster(corpus, cmap, names)


def _start_baselines():
    run = loop.run
    cache = common.baseline_cache(corpus.content_hash, run.fingerprint, map_encoder)  # the tuning lab's too
    return baselines_job(run.config, space, common.baseline_extractor("rules"), embed, run.reference, cache=cache)


base_polling = common.job_running("bd_base_job")  # decided per full run: the fragment polls only while the job runs


@st.fragment(run_every=REFRESH_S if base_polling else None)
def baselines_panel() -> None:
    bandit_panels.baselines(base_polling, _start_baselines, TICK_S)


if loop.run is not None and kind == "rules":
    baselines_panel()

bandit_panels.stored_runs(bandit_panels.store(), loop, _reopen, getattr(S.get("bd_ref", ref), "name", ""))

if config is not None:  # a wrong setting leaves the address at the last valid view
    common.share_view("bandit", bd_link_run=None if loop.run is None else loop.run.run_id,  # a preset only: an
                      bd_preset=preset if preset in presets else None, **link_state(config))  # upload or tag stays
