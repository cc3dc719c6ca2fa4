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


def test_a_node_parameter_table_gives_each_parameter_its_form_label():
    from core.ctar.config import PARAMETER_GROUPS, PARAMETER_LABELS, CTARConfig
    from core.ctar.graph import causal_graph
    from core.ctar.presets import parameter_table

    table = parameter_table(causal_graph(CTARConfig()).details("Y"))
    assert list(table.columns) == ["setting", "parameter", "value"]
    assert dict(zip(table["parameter"], table["setting"]))["noise_sigma"] == "Rating noise"
    # every setting the form shows has a label of words, not its field name
    assert {n for names in PARAMETER_GROUPS.values() for n in names} <= set(PARAMETER_LABELS)
