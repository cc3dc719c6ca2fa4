"""core.ctar.presets: the page's intervention presets, release reference and reset values."""

from __future__ import annotations

from core.ctar.config import CTARConfig
from core.ctar.presets import INTERVENTIONS, default_values, released_reference


def test_presets_are_interventions_and_none_is_empty():
    assert INTERVENTIONS["none"].is_empty
    assert all(not iv.is_empty for name, iv in INTERVENTIONS.items() if name != "none")


def test_release_reference_falls_back_to_the_documented_figures(tmp_path):
    stats, label = released_reference(tmp_path)  # no release files here
    assert label == "released CTAR (documented)" and len(stats) > 0


def test_reset_values_are_the_config_defaults():
    values = default_values("ctar_")
    assert values["ctar_n_users"] == CTARConfig().n_users and all(k.startswith("ctar_") for k in values)
