"""Presentation mode's guided tour: one idea per step, its hero visual above the fold, big numbers, Next/Back.

Step 1's map is the WebGL map of the Corpus map page (its Save PNG button is the camera). Step 2 starts two
live bandit runs by itself (EQUAL and Random picks, small budget), so there
is motion to show; the fragment refreshes only while they play. Steps 3 and 4 compute a small
CTAR sample and a small debiasing sweep once per process. Words and numbers come from
:mod:`pages._lib.tour_steps`.
"""

from __future__ import annotations

import streamlit as st

from core.equal.extract import make_extractor
from core.equal.live import LiveLoop
from core.equal.reference import load_reference
from core.equal.run import encoder_embedder
from core.viz.bandit import make_budget_figure
from core.viz.ctar import make_rating_distribution_figure
from core.viz.debias import make_estimates_figure
from pages import common, sidebar
from pages._lib.tour_steps import (
    PLAIN_ESTIMATORS,
    RACE_COLORS,
    STEPS,
    TOUR_CTAR,
    TOUR_SWEEP_SEEDS,
    TOUR_WORLD,
    bandit_story,
    corpus_story,
    ctar_claim,
    ctar_story,
    debias_claim,
    debias_story,
    make_race,
    plain_rating_distribution,
    race_frames,
    race_tick,
    step,
    strongest,
)
from pages.map_component import cluster_labels, colored_view, corpus_map

S = st.session_state
HERO_HEIGHT, REFRESH_S = 470, 0.5

common.leave_pages_directory_mode()
common.link_warning()  # a step the link could not restore is named, not silently replaced
S.setdefault("tour_step", 1)
current = step(S["tour_step"])


def _go(delta: int) -> None:
    S["tour_step"] = step(S.get("tour_step", 1) + delta).number


def _jump(number: int) -> None:
    S["tour_step"] = step(number).number


# the presenter's keys: Right/Left press Next/Back (only while the tour's buttons are on the page)
ARROW_KEYS = """<script>
const doc = window.parent.document;
if (!doc.__tourKeys) {
  doc.__tourKeys = true;
  doc.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t.isContentEditable || t.tagName === "TEXTAREA" ||
        (t.tagName === "INPUT" && !["checkbox", "radio", "button"].includes(t.type))) return;  // typing
    const key = {ArrowRight: "tour_next", ArrowLeft: "tour_back"}[e.key];
    const button = key && doc.querySelector(`.st-key-${key} button:not([disabled])`);
    if (button) { e.preventDefault(); button.click(); }
  });
}
</script>"""

head, back, nxt, leave = st.columns([7, 1, 1, 1], vertical_alignment="bottom")
head.subheader(f"{current.number} of {len(STEPS)} · {current.title}")
back.button("Back", key="tour_back", on_click=_go, args=(-1,), disabled=current.number == 1, width="stretch")
leave.button("Exit", key="tour_exit", on_click=sidebar.exit_presentation, width="stretch",
             help="Leave presentation mode: every setting and the page you left come back.")
nxt.button("Next", key="tour_next", on_click=_go, args=(1,), type="primary", disabled=current.number == len(STEPS),
           width="stretch")
for dot, tour_step in zip(st.columns(len(STEPS) + 12), STEPS):  # the step dots: where we are, a jump to any step
    dot.button("●" if tour_step is current else "○", key=f"tour_dot_{tour_step.number}", on_click=_jump,
               args=(tour_step.number,), type="tertiary", help=tour_step.title)
st.iframe(ARROW_KEYS, height=1)  # a script only: 1 px (st.components.v1.html, which drew it at 0, is deprecated)
st.markdown(current.text)


def _metrics(story: dict[str, str]) -> None:
    cols = st.columns(len(story))
    for col, (label, value) in zip(cols, story.items()):
        col.metric(label, value)


@st.cache_resource(show_spinner="Generating a small movie-rating data set…")
def _ctar_sample(seed: int):
    from core.ctar.config import CTARConfig
    from core.ctar.sampler import sample

    return sample(CTARConfig(seed=seed, **TOUR_CTAR))


@st.cache_resource(show_spinner="Measuring each estimate against the truth…")
def _sweep(seed: int):
    from core.debias.data import WorldConfig
    from core.debias.sweep import SweepConfig, run_sweep, summarize_sweep

    config = SweepConfig(mechanisms=("popularity",), seeds=tuple(range(seed, seed + TOUR_SWEEP_SEEDS)),
                         world=WorldConfig(**TOUR_WORLD))
    return summarize_sweep(run_sweep(config))


def _hero(fig, title: str, key: str, **axes) -> None:
    """The step's chart, with its camera button always in view: "save this chart as PNG"."""
    fig.update_layout(title=title, height=HERO_HEIGHT, **axes)
    st.plotly_chart(fig, key=key, config={"displayModeBar": True, "displaylogo": False,
                                          "modeBarButtons": [["toImage"]],
                                          "toImageButtonOptions": {"filename": f"tour-step-{current.number}",
                                                                   "scale": 2}})


def _race() -> tuple[LiveLoop, LiveLoop]:
    """The two live loops of step 2, started on first view (and again after Play again)."""
    loops = S.setdefault("tour_loops", (LiveLoop(), LiveLoop()))
    if loops[0].state == "idle":
        cmap = common.corpus_map()
        embed = encoder_embedder(common.encoder(cmap.settings.encoder_name))
        bandit, random = make_race(cmap, embed(load_reference("numerical-arrays").texts()), make_extractor("rules"),
                                   embed,
                                   seed=common.seed())
        loops[0].start(bandit)
        loops[1].start(random)
    return loops


def _replay() -> None:
    S.pop("tour_loops", None)


if current.number == 1:
    cmap = common.corpus_map()
    _metrics(corpus_story(cmap))
    labels = cluster_labels(cmap)  # the Corpus map's default view, shared with it: labels by zoom and the legend
    view = colored_view(cmap, "cluster", labels)
    corpus_map(view.points, key="tour_map", labels=view.hover, colors=view.coloring.colors, height=HERO_HEIGHT,
               map_labels=labels, legend=view.coloring.legend, png_name=f"tour-step-{current.number}")
elif current.number == 2:
    loops = _race()

    @st.fragment(run_every=REFRESH_S if loops[0].playing or loops[1].playing else None)
    def race() -> None:
        was = loops[0].playing or loops[1].playing
        race_tick(*loops)
        if was and not (loops[0].playing or loops[1].playing):
            st.rerun()  # both budgets spent: stop refreshing
        _metrics(bandit_story(loops[0].run, loops[1].run))
        _hero(make_budget_figure(race_frames(loops[0].run, loops[1].run), x="docs_cum", colors=RACE_COLORS),
              "Closeness to the task as the budget is spent", "tour_race",
              xaxis_title="documents read", yaxis_title="closeness to the task")

    race()
    if not (loops[0].playing or loops[1].playing):
        st.button("Play again", key="tour_replay", on_click=_replay)
elif current.number == 3:
    result = _ctar_sample(common.seed())
    _metrics(ctar_story(result))
    from core.ctar.stats import summarize_truth

    dist = summarize_truth(result)["rating_distribution"]
    st.markdown(ctar_claim(dist))
    _hero(make_rating_distribution_figure(plain_rating_distribution(dist)),
          "All ratings, and the ones people chose to tag", "tour_ctar", xaxis_title="rating (1 to 5 stars)",
          yaxis_title="share of ratings")
else:
    summary = _sweep(common.seed())
    _metrics(debias_story(summary))
    st.markdown(debias_claim(summary))
    _hero(make_estimates_figure(summary, "popularity", strongest(summary), names=PLAIN_ESTIMATORS),
          "Each way of estimating the recommender's error, against the truth", "tour_debias", yaxis_title="error")

common.share_view("tour")
