"""What the CTAR generator page offers and compares against, named here so the page only places it.

* :data:`INTERVENTIONS`: the intervention presets of the picker, as :class:`~core.ctar.sampler.Intervention`.
* :func:`released_reference`: the released CTAR statistics to compare a sample with — computed
  from the release files when they are present, else the documented figures.
* Small views of a sample: :func:`preview_tables`, :func:`parameter_table`, :func:`notes_text`.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pandas as pd

from core.ctar.config import CTARConfig
from core.ctar.sampler import Intervention
from core.settings import data_dir

INTERVENTIONS = {
    "none": Intervention(),
    "do(exposure = uniform): cut Pop → O^Y": Intervention(exposure="uniform"),
    "do(ObsTag = uniform): cut Y, Pop → O^T": Intervention(obstag="uniform"),
    "do(tag effect = 0): cut N → Y": Intervention(tag_effect=0.0),
    "do(N = 2): cut S → N": Intervention(n_match=2),
    "do(Y = 5): cut Q, N → Y": Intervention(rating=5),
}
#: What each intervention does, in words a newcomer reads before its notation (``do(N = 2)``: N, the user's liked
#: tags on the movie, set to 2 for every user-movie pair, cutting what normally causes it).
INTERVENTION_WORDS = {
    "none": "None: the data as observed",
    "do(exposure = uniform): cut Pop → O^Y": "Every movie as likely to be rated, popular or not",
    "do(ObsTag = uniform): cut Y, Pop → O^T": "Tags given at random, whatever the rating or popularity",
    "do(tag effect = 0): cut N → Y": "Liked tags no longer change the rating",
    "do(N = 2): cut S → N": "Every movie has 2 of its user's liked tags",
    "do(Y = 5): cut Q, N → Y": "Every rating is 5 stars",
}
INTERVENTION_HELP = ("An intervention sets one cause for every user-movie pair, as an experiment would, whatever "
                     "normally drives it; do(X = x) is its notation (N: the user's liked tags on the movie, Y: the "
                     "rating, O^Y and O^T: whether a rating or a tag is observed). The graph draws the causes it cuts "
                     "as red dashed edges.")
#: The quantity an intervention's table shows (:func:`core.ctar.graph.intervention_target`), in words.
TARGET_WORDS = {"P(O^T=1)": "share of pairs tagged", "Y | O^Y=1": "rating of the rated pairs",
                "Y | O^T=1": "rating of the tagged pairs", "Y": "rating of every pair"}
PREVIEW_TABLES = ("rating", "obstag", "rcttag", "movie", "test")
PREVIEW_ROWS = 200


def ctar_data_dir() -> Path:
    """``<data>/ctar``: ``original/`` (CTAR's inputs) and ``release/`` (its published files), when present."""
    return data_dir("ctar")


def has_original_inputs(root: Path | None = None) -> bool:
    return ((root or ctar_data_dir()) / "original" / "movie_tag_ct.csv").is_file()


def released_reference(root: Path | None = None) -> tuple[dict, str]:
    """``(statistics, label)`` of the released CTAR data: from the files under ``release/`` when
    they exist (``"released CTAR (files)"``), else the documented figures."""
    from core.ctar.stats import released_statistics, summarize
    from core.ctar.tables import load_release

    release = (root or ctar_data_dir()) / "release"
    if (release / "train" / "rating.csv").is_file():
        return summarize(load_release(release)), "released CTAR (files)"
    return released_statistics(), "released CTAR (documented)"


def default_values(prefix: str = "ctar_") -> dict[str, object]:
    """``{prefix + field: CTAR default}`` for every config field: what "Reset to CTAR defaults" writes."""
    defaults = CTARConfig()
    return {f"{prefix}{f.name}": getattr(defaults, f.name) for f in fields(CTARConfig)}


def preview_tables(tables) -> dict[str, pd.DataFrame]:
    """The first :data:`PREVIEW_ROWS` rows of each file of a sample's ``tables()``."""
    frames = {"rating": tables.rating, "obstag": tables.obstag, "rcttag": tables.rcttag, "movie": tables.movie,
              "test": tables.tests["test"]}
    return {name: frames[name].head(PREVIEW_ROWS) for name in PREVIEW_TABLES}


def parameter_table(details: dict) -> pd.DataFrame:
    """A node's parameters (``CausalGraph.details(...)["parameters"]``) as ``setting, parameter, value`` rows
    (``setting``: the label the form gives the parameter, :data:`core.ctar.config.PARAMETER_LABELS`)."""
    from core.ctar.config import parameter_label

    params = details["parameters"]
    return pd.DataFrame({"setting": [parameter_label(p) for p in params], "parameter": list(params),
                         "value": [str(v) for v in params.values()]})


def intervention_label(choice: str) -> str:
    """The picker's text for the intervention ``choice``: its words, then its notation as a gloss.

    >>> intervention_label("do(N = 2): cut S → N")
    "Every movie has 2 of its user's liked tags (do(N = 2))"
    >>> intervention_label("none")
    'None: the data as observed'
    """
    words = INTERVENTION_WORDS.get(choice)
    if words is None:
        return choice
    return words if choice == "none" else f"{words} ({choice.split(':')[0]})"


def intervention_in_words(intervention: Intervention) -> str:
    """A sampled intervention as the picker named it (:func:`intervention_label`); one the picker does not offer
    by its notation (``Intervention.describe``)."""
    choice = next((c for c, iv in INTERVENTIONS.items() if iv == intervention), None)
    return intervention.describe() if choice is None else intervention_label(choice)


def target_in_words(target: str) -> str:
    """The quantity of an intervention's table in words, its notation after it.

    >>> target_in_words("Y | O^Y=1")
    'rating of the rated pairs (Y | O^Y=1)'
    """
    words = TARGET_WORDS.get(target)
    return target if words is None else f"{words} ({target})"


def notes_text(result) -> str:
    """A sample's notes, one per line (empty when none)."""
    return "\n\n".join(f"Note: {n}" for n in result.notes)
