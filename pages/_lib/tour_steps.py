"""The presentation mode's guided tour: four steps, one idea each, in plain words.

Each step has a title, one or two sentences without notation, and the big numbers of its hero
visual, computed here from the real objects (a corpus map, two live bandit runs, a CTAR
sample, a debiasing sweep) so the tour page only places them. Nothing here uses formulas,
assumption codes or test-set names: the tour is for people who have never seen them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.links import TOUR_STEPS


@dataclass(frozen=True)
class TourStep:
    number: int
    title: str
    text: str


STEPS = (
    TourStep(1, "What the corpus looks like",
             "Every dot is one document. Documents about the same thing land close together, and each colour is a "
             "group of them. The names on the map are the words each group uses most."),
    TourStep(2, "The bandit spends less to get closer data",
             "Turning documents into training questions costs money for every document read. The bandit reads a few "
             "documents from a group, sees how close the result is to the task, and spends more where it pays off. "
             "The chart races it live against picking documents at random on the same budget."),
    TourStep(3, "What the generator knows that real data hides",
             "In real feedback we only see what people chose to give, and what they choose to say about a movie "
             "leans towards what they liked. Our generator makes a realistic movie data set in which every rating "
             "that would have been given is known, so the hidden part can be measured."),
    TourStep(4, "What a bias does to each way of estimating",
             "Popular movies are shown more, so the ratings we see are not a fair sample, and a plain average of "
             "them misjudges how good a recommender is. Corrections that account for why a rating was seen land "
             "closer to the truth (the dashed line)."),
)
assert len(STEPS) == TOUR_STEPS

# demo-sized settings: small enough that every step's visual is ready in seconds
TOUR_BANDIT: dict[str, Any] = dict(batch_arms=2, docs_per_pull=4, budget=0.25)
TOUR_CTAR: dict[str, Any] = dict(n_users=300, n_movies=1000)
TOUR_SWEEP_SEEDS = 12
TOUR_WORLD: dict[str, Any] = dict(n_users=150, n_items=200, generator="compact")
#: step 3 compares these two columns of the rating distribution (CTAR's rating exposure depends on popularity
#: only, so the observed ratings look like all of them; the ratings people tag are the ones that lean)
PLAIN_RATING_COLUMNS = {"full (latent)": "all ratings people would give",
                        "tagged (ObsTag)": "ratings people chose to tag"}
#: step 4's estimators in words
PLAIN_ESTIMATORS = {"Naive": "Plain average", "EIB": "Filling in the gaps", "IPS": "Reweighting",
                    "SNIPS": "Reweighting, normalised", "DR": "Reweighting plus a model"}
#: the race's two curves, in colours nobody confuses
RACE_COLORS = {"Bandit": "#e76f51", "Random picks": "#5c677d"}


def step(number: int) -> TourStep:
    """The tour step ``number`` (1-based), clamped to the tour."""
    return STEPS[min(max(int(number), 1), len(STEPS)) - 1]


def corpus_story(cmap) -> dict[str, str]:
    """Big numbers of step 1: documents, groups, the largest group."""
    sizes = cmap.clusters["size"]
    return {"Documents": f"{len(cmap.corpus):,}", "Groups": f"{len(sizes):,}",
            "Largest group": f"{int(sizes.max()):,} documents"}


def bandit_story(bandit, random) -> dict[str, str]:
    """Big numbers of step 2 from the live EQUAL run and the random run on the same budget."""
    gain = bandit.coverage - random.coverage
    return {"Budget spent": f"{bandit.budget_fraction:.0%}",
            "Closeness to the task, bandit": f"{bandit.coverage:.2f}",
            "Picking at random": f"{random.coverage:.2f}",
            "Bandit vs random": f"{gain:+.2f}"}


def race_frames(bandit, random) -> dict[str, pd.DataFrame]:
    """``{"Bandit": rounds, "Random picks": rounds}`` for the budget chart."""
    return {"Bandit": bandit.rounds_frame(), "Random picks": random.rounds_frame()}


def ctar_story(result) -> dict[str, str]:
    """Big numbers of step 3: how much of the full rating table real data would show."""
    full = int(result.counts.rating_full.sum())
    seen = len(result.rating)
    return {"Ratings that exist": f"{full:,}", "Ratings we get to see": f"{seen:,}",
            "Hidden from real data": f"{1 - seen / max(full, 1):.1%}"}


def high_shares(dist: pd.DataFrame) -> tuple[float, float]:
    """Step 3's figures: the share of 4- and 5-star ratings among all ratings, and among the tagged ones."""
    high = dist["rating"] >= 4
    return float(dist.loc[high, "full (latent)"].sum()), float(dist.loc[high, "tagged (ObsTag)"].sum())


def ctar_claim(dist: pd.DataFrame) -> str:
    """Step 3's sentence, from its own figure: how far the tagged ratings lean from all of them."""
    every, tagged = high_shares(dist)
    lean = "higher" if tagged > every else "lower"
    return (f"Of all the ratings people would give, **{every:.0%}** are 4 or 5 stars; of the ratings they chose to "
            f"tag, **{tagged:.0%}**: {abs(tagged - every) * 100:.0f} points {lean}. Real data shows only the second.")


def plain_rating_distribution(dist: pd.DataFrame) -> pd.DataFrame:
    """``summarize_truth(...)["rating_distribution"]``, the two columns step 3 compares, named in words."""
    return dist[["rating", *PLAIN_RATING_COLUMNS]].rename(columns=PLAIN_RATING_COLUMNS)



def debias_story(summary: pd.DataFrame, mechanism: str = "popularity") -> dict[str, str]:
    """Big numbers of step 4 at the strongest bias swept: the truth, the plain average's error, the best
    correction's."""
    truth, naive, best, name = _debias_figures(summary, mechanism)
    return {"True error of the recommender": f"{truth:.3f}",
            "Plain average is off by": f"{abs(naive) / truth:.0%}",
            f"Best correction ({PLAIN_ESTIMATORS.get(name, name)}) is off by": f"{abs(best) / truth:.1%}"}


def _debias_figures(summary: pd.DataFrame, mechanism: str) -> tuple[float, float, float, str]:
    """``(true error, plain average's bias, best correction's bias, its name)`` at the strongest bias swept."""
    s = summary[(summary["mechanism"] == mechanism) & (summary["strength"] == summary["strength"].max())]
    rest = s[s["estimator"] != "Naive"]
    best = rest.loc[rest["bias"].abs().idxmin()]
    naive = float(s.loc[s["estimator"] == "Naive", "bias"].iloc[0])
    return float(s["truth"].mean()), naive, float(best["bias"]), str(best["estimator"])


def debias_claim(summary: pd.DataFrame, mechanism: str = "popularity") -> str:
    """Step 4's sentence, from its own figure: which way the plain average errs, and by how much more."""
    truth, naive, best, name = _debias_figures(summary, mechanism)
    way = "too high" if naive > 0 else "too low"
    return (f"The plain average puts the recommender's error {way}, by **{abs(naive) / truth:.0%}**; "
            f"{PLAIN_ESTIMATORS.get(name, name).lower()} is off by **{abs(best) / truth:.1%}**.")


def strongest(summary: pd.DataFrame) -> float:
    return float(summary["strength"].max())


def make_race(cmap, reference, extractor, embed, seed: int = 0):
    """The live runs of step 2: EQUAL and Random picks on the same small budget, same corpus map.

    ``reference`` is the task's embeddings ``(m, d)`` in the map's space; ``embed`` the map's
    encoder as an embed function. Returns ``(bandit, random)`` :class:`~core.equal.run.BanditRun`
    objects (not stored: the tour leaves no runs behind).
    """
    from dataclasses import replace

    from core.equal.run import BanditRun, RunConfig
    from core.equal.space import ArmSpace

    config = RunConfig(policy="equal", seed=int(seed), **TOUR_BANDIT)
    space = ArmSpace.from_corpus_map(cmap)
    runs = []
    for policy in ("equal", "random"):
        cfg = config if policy == "equal" else replace(config, policy="random", policy_params={})
        runs.append(BanditRun(cfg, space, reference, extractor, embed, name=f"tour {policy}"))
    return runs[0], runs[1]


def race_tick(bandit_loop, random_loop, max_rounds: int = 2, max_seconds: float = 0.3) -> None:
    """One refresh of step 2: the bandit plays a tick, then Random catches up to as many documents read,
    so the two curves stay side by side on the budget axis (neither runs ahead by being faster)."""
    bandit_loop.tick(max_rounds=max_rounds, max_seconds=max_seconds)
    target = bandit_loop.run.docs_done if bandit_loop.playing else None
    while random_loop.playing and (target is None or random_loop.run.docs_done < target):
        random_loop.tick(max_rounds=1, max_seconds=max_seconds)
        if target is None:
            break
