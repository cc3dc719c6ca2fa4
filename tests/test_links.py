"""Links (core.links, pages._lib.links): a view survives the round trip; a bad link says what it could not restore."""

from __future__ import annotations

from core.equal.run import RunConfig
from core.links import encode_view
from pages._lib.links import page_params, restore_link


def test_round_trip_of_each_page():
    views = {
        "corpus_map": {"cm_query": "parse a date", "cm_cluster_link": 3, "sb_demo": True},
        "bandit": {"bd_link_run": "a1b2c3d4e5f6", "sb_seed": 7, "bd_policy": "ucb1", "bd_c": 2.5,
                   "bd_preset": "statistics", "bd_budget_kind": "calls", "bd_budget": 40.0, "bd_credit": "pull"},
        "ctar_generator": {"ctar_n_users": 300, "ctar_tag_effect": 0.25,
                           "ctar_intervention": "do(Y = 5): cut Q, N → Y"},
        "debiasing_lab": {"dl_mech": "selection", "dl_strength": 1.0, "dl_on_pop": True},
        "tour": {"tour_step": 3, "sb_demo": True},
    }
    for page, view in views.items():
        query = encode_view(view, page_params(page))
        values, problems = restore_link(page, query)
        shared, more = restore_link(None, query)
        assert problems == more == [] and {**values, **shared} == view, (page, query, values)


def test_defaults_stay_out_of_the_link():
    assert encode_view({"dl_mech": "popularity", "dl_on_pop": False, "sb_seed": 0}, page_params("debiasing_lab")) == {}
    query = encode_view({"ctar_intervention": "do(Y = 5): cut Q, N → Y"}, page_params("ctar_generator"))
    assert query == {"do": "rating"}  # a short slug, not the label


def test_an_invalid_link_restores_the_rest_and_names_what_it_could_not():
    query = {"bias": "wobbly", "on_pop": "1", "seed": "-4", "junk": "x"}
    values, problems = restore_link("debiasing_lab", query)
    assert values == {"dl_on_pop": True}
    assert len(problems) == 1 and problems[0].startswith("bias 'wobbly': must be one of")
    values, problems = restore_link(None, query)
    assert values == {} and problems[0].startswith("seed '-4'")
    values, problems = restore_link("debiasing_lab", {"bias": "popularity", "strength": "123"})
    assert values == {"dl_mech": "popularity"} and "strength 123: must be one of" in problems[0]
    values, problems = restore_link("ctar_generator", {"n_users": "many", "do": "teleport", "mode": "normalised"})
    assert values == {"ctar_mode": "normalised"} and len(problems) == 2


def test_a_bandit_link_is_checked_by_run_config_with_its_other_settings():
    # 40 calls is a budget; 40 as a share of the corpus is not
    values, problems = restore_link("bandit", {"budget": "40"})
    # the refusal names the setting as the page labels it, its range in words (it named RunConfig.budget, "(0, 1]")
    assert values == {}
    assert problems == ["budget '40': Budget value (share: 0-1) must be above 0 and at most 1, got 40.0"]
    values, problems = restore_link("bandit", {"budget_kind": "calls", "budget": "40"})
    assert values == {"bd_budget_kind": "calls", "bd_budget": 40.0} and problems == []
    # a policy's parameter is checked under its policy, even when the link names another
    values, problems = restore_link("bandit", {"policy": "equal", "c": "-1", "alpha": "paper", "gamma": "0"})
    assert values == {"bd_policy": "equal", "bd_alpha_rule": "paper"}
    assert [p.split(" ", 1)[0] for p in problems] == ["c", "gamma"]
    assert "Exploration weight must be at least 0" in problems[0] and "UCB1" not in problems[0]
    assert problems[1] == "gamma '0': Exploration share must be above 0 and at most 1, got 0.0"  # was EXP3.gamma
    values, _ = restore_link("bandit", {"alpha": "0.002"})
    assert values == {"bd_alpha_rule": "number", "bd_alpha": 0.002}  # both of its widgets


def test_a_bandit_link_carries_the_reference_task_a_preset_only():
    from core.equal.tune import bandit_link

    link = bandit_link(None, RunConfig(batch_arms=5), "statistics")
    query = dict(q.split("=") for q in link.split("?")[1].split("&"))
    values, problems = restore_link("bandit", query)
    assert problems == [] and values["bd_preset"] == "statistics" and values["bd_batch_arms"] == 5
    assert "reference" not in bandit_link(None, RunConfig(), "numerical-arrays")  # the page's default stays out
    values, problems = restore_link("bandit", {"reference": "Upload…", "policy": "ucb1"})
    assert "bd_preset" not in values and values["bd_policy"] == "ucb1"
    assert len(problems) == 1 and problems[0].startswith("reference 'Upload…': must be one of")
