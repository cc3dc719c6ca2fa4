"""Debiasing lab: every bias is a broken causal assumption; watch what it does to each estimator.

Widgets -> core.debias (mechanisms, sweep, learners) -> core.viz.debias figures. The sweep is a
:class:`core.debias.jobs.SweepJob` polled by a fragment while it runs (and only then), so the
progress bar moves and Cancel stops it between chunks (keeping the seeds done so far).
"""

from __future__ import annotations

import streamlit as st

from core.csv_safe import to_safe_csv
from core.debias.data import DebiasConfigError, WorldConfig
from core.debias.estimators import ESTIMATORS
from core.debias.jobs import LearnersJob, SweepJob, as_bullets, mechanism_labels, shown_strength
from core.debias.lab import LearnerConfig, explain_learners, explain_sweep, label_learner_table
from core.debias.learners import LEARNERS, MFConfig
from core.debias.mechanisms import CONDITIONS, MECHANISMS, assumption_status, default_grid, make_mechanism
from core.debias.propensity import PROPENSITY_LABELS, PROPENSITY_MODELS
from core.debias.sweep import IMPUTATION_LABELS, IMPUTATIONS, SweepConfig, summarize_sweep, summary_in_words
from core.viz.debias import (
    make_bias_graph_figure,
    make_error_vs_strength_figure,
    make_estimates_figure,
    make_learner_figure,
)
from pages import common

SWEEP, LEARN, TICK_S, REFRESH_S = "debias_sweep", "debias_learners", 0.3, 0.5
WORLDS = {"Small (150 users x 200 items, fast)": (150, 200), "Medium (300 x 400)": (300, 400),
          "Large (600 x 800)": (600, 800)}
GENERATORS = {"ctar": "CTAR generator", "compact": "Compact (fastest)"}

common.page_header("Debiasing lab", "Every bias in a recommender is a broken causal assumption. Pick one, see which "
                   "assumption breaks, and measure what it does to each estimator against the known truth.")
seed = common.seed()

labels = mechanism_labels()
left, right = st.columns([1, 2])
with left:
    st.session_state.setdefault("dl_mech", "popularity")  # defaults in the session: a shared link may have set them
    mech_name = st.selectbox("Bias", MECHANISMS, format_func=lambda m: labels.get(m, m), key="dl_mech")
    grid = default_grid(mech_name)
    knob = make_mechanism(mech_name, grid[-1]).knob
    if st.session_state.get("dl_strength") not in grid:
        st.session_state["dl_strength"] = grid[-1]
    strength = st.select_slider("Strength", options=list(grid), key="dl_strength",
                                help=None if common.presenting()
                                else f"How strong the bias is: the mechanism's setting, {knob} in its formula.")
    on_pop = st.toggle("Estimator conditions on popularity", key="dl_on_pop",
                       help="Popularity bias misleads only an estimator that ignores popularity." if common.presenting()
                       else "Popularity bias breaks A2 (unconfoundedness) only if the estimator ignores popularity.")
    more = st.multiselect("…and also conditions on", list(CONDITIONS), format_func=lambda c: CONDITIONS.get(c, c),
                          key="dl_cond")
# the address bar first: a link copied right after a click holds it (the sweep and its charts come later)
common.share_view("debiasing_lab", dl_strength=None if strength == grid[-1] else strength)  # the default stays out
conditioned = set(more) | ({"popularity"} if on_pop else set())
mechanism = make_mechanism(mech_name, strength)
broken = mechanism.violated_assumptions(conditioned)
with right:
    st.plotly_chart(make_bias_graph_figure(mechanism, conditioned, plain=common.presenting()), key="dl_graph")
with left:  # the assumptions' notation stays out of presentation mode (the plain description below says it)
    for a in () if common.presenting() else ("A1", "A2", "A3"):
        (st.error if a in broken else st.success)(assumption_status(a, a in broken))
st.info(mechanism.describe(conditioned, plain=common.presenting()))

st.subheader("Estimators against the truth")
with st.expander("Sweep settings", expanded=not common.demo_mode()):
    c1, c2, c3 = st.columns(3)
    for key, default in (("dl_seeds", 20), ("dl_estimators", list(ESTIMATORS)), ("dl_clip", 0.0)):
        st.session_state.setdefault(key, default)  # kept across pages (routing.keep_views): no widget default
    n_seeds = c1.number_input("Seeds (repeats)", 2, 500, key=common.kept_key("dl_seeds"))
    world_label = c1.selectbox("World size", list(WORLDS), key=common.kept_key("dl_world"))
    generator = c1.selectbox("World", list(GENERATORS), format_func=lambda g: GENERATORS.get(g, g),
                             key=common.kept_key("dl_generator"))
    c1.caption("CTAR generator: each seed is a full CTAR sample and its hidden truth; Compact: a lighter twin, same "
               "rating equation.")
    estimators = c2.multiselect("Estimators", ESTIMATORS, key=common.kept_key("dl_estimators"))
    propensity = c2.selectbox("Propensity model", PROPENSITY_MODELS, key=common.kept_key("dl_prop"),
                              format_func=lambda m: PROPENSITY_LABELS.get(m, m),
                              help="oracle: the true observation probability (a hidden confounder stays hidden).")
    clip = c3.slider("Propensity floor (clip)", 0.0, 0.2, step=0.01, key=common.kept_key("dl_clip"),
                     help="Floor for propensities (γ in the estimators' formulas): less variance, some bias.")
    imputation = c3.selectbox("Imputed error (EIB, DR)", IMPUTATIONS, key=common.kept_key("dl_imp"),
                              format_func=lambda m: IMPUTATION_LABELS.get(m, m))
users, items = WORLDS[world_label]
try:
    world = WorldConfig(n_users=users, n_items=items, generator=generator)
    config = SweepConfig(mechanisms=(mech_name,), estimators=tuple(estimators) or ESTIMATORS,
                         seeds=tuple(range(seed, seed + int(n_seeds))), world=world,
                         propensity=propensity, clip=clip, imputation=imputation)
except DebiasConfigError as exc:
    common.show_error(exc, "Sweep settings")
    st.stop()


sweep_polling = common.job_running(SWEEP)  # decided per full run: the fragment polls only while a sweep runs


@st.fragment(run_every=REFRESH_S if sweep_polling else None)
def sweep_panel(config: SweepConfig) -> None:
    job = common.poll_job_panel(
        SWEEP, sweep_polling, lambda: SweepJob(config), start_label="Run sweep", start_key="dl_run",
        cancel_key="dl_cancel", failed="The sweep failed", budget_key="debias_sweep_chunk_budget", tick_s=TICK_S,
        idle="Run a sweep to compare Naive, EIB, IPS, SNIPS and DR with the true loss over many random worlds.")
    if job is None:
        return
    df = job.table()
    if df.empty:
        return
    summary = summarize_sweep(df)
    mech = job.config.mechanisms[0]
    shown = shown_strength(summary, mech, mech_name, strength)
    f1, f2 = st.columns(2)
    f1.plotly_chart(make_estimates_figure(summary, mech, shown), key="dl_estimates")
    f2.plotly_chart(make_error_vs_strength_figure(summary, mech), key="dl_strength_fig")
    st.markdown(as_bullets(explain_sweep(summary, mech, shown)))
    st.download_button("Download the sweep table (CSV)", to_safe_csv(df), "debias_sweep.csv", "text/csv",
                       key="dl_download")
    with st.expander("Summary table"):
        st.dataframe(summary_in_words(summary), hide_index=True)


sweep_panel(config)

st.subheader("Learners trained on the biased data")
st.caption("Matrix factorisation trained under each loss. Ratings: scored on every user-item pair of the hidden truth "
           "(MSE, AUC of 'rating ≥ 4', NDCG@10). Tags: trained on CTAR-style user-tag facts and scored by AUC on "
           "Test II (tags of movies the user rated) and Test III (tags of movies never rated), as CTAR's baselines "
           "are.")
st.session_state.setdefault("dl_learners", list(LEARNERS))
st.session_state.setdefault("dl_default_scenario", True)
learners = st.multiselect("Learners", LEARNERS, key=common.kept_key("dl_learners"))
use_default = st.toggle("Train on the lab's default scenario (selection bias, alpha 0.25, 5% observed, known "
                        "propensities)",
                        key=common.kept_key("dl_default_scenario"),
                        help="Where propensity and doubly-robust learners beat MF-Naive on the truth. Off: the bias "
                             "chosen above.")
lcfg = (LearnerConfig(learners=tuple(learners), world=world, mf=MFConfig(seed=seed), seed=seed) if use_default else
        LearnerConfig(mechanism=mech_name, strength=strength, learners=tuple(learners), propensity=propensity,
                      world=world, mf=MFConfig(seed=seed), seed=seed))


learn_polling = common.job_running(LEARN)


@st.fragment(run_every=REFRESH_S if learn_polling else None)
def learners_panel(config: LearnerConfig) -> None:
    job = common.poll_job_panel(
        LEARN, learn_polling, lambda: LearnersJob(config), start_label="Train learners", start_key="dl_train",
        cancel_key="dl_learn_cancel", failed="Training failed", budget_key="debias_learners_budget", tick_s=TICK_S,
        can_start=bool(config.learners))
    if job is None:
        return
    table = job.table()
    if table.empty:
        return
    st.dataframe(label_learner_table(table), hide_index=True)  # full width: 10 of its 11 columns in view at 1440 px
    st.plotly_chart(make_learner_figure(table), key="dl_learner_fig")
    st.markdown(as_bullets(explain_learners(table, job.config)))


learners_panel(lcfg)

