"""What a user set survives what they do next: a page switch (settings a link does not carry too; a pick does not
survive it), presentation mode (an uploaded corpus), and a shared link (the generator's settings checked together,
the lab's conditioning, the map's match count, a valid EXP3 gamma below the slider's first step)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages._lib.choices import DEMO_ON

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(autouse=True)
def _small_fast_corpus(monkeypatch):
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    monkeypatch.setenv("EQUALCTAR_BUILTIN_LIMIT", "300")


def _app(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page, setters", [
    ("debiasing_lab", [("number_input", "dl_seeds", 50), ("selectbox", "dl_world", "Medium (300 x 400)"),
                       ("slider", "dl_clip", 0.1), ("multiselect", "dl_cond", ["position"])]),
    ("tuning_lab", [("number_input", "tl_seeds", 5), ("number_input", "tl_budget", 0.5),
                    ("selectbox", "tl_policy", "ucb1"), ("multiselect", "tl_vary", ["policy"])]),
    ("bandit", [("slider", "bd_speed", 5), ("radio", "bd_extractor", "openai"),
                ("text_input", "bd_base_url", "http://127.0.0.1:9000/v1"), ("text_input", "bd_model", "m")]),
    ("large_map", [("text_input", "lm_path", "/no/such/corpus.jsonl")]),  # a path typed (and refused) stays
    ("ctar_generator", [("radio", "ctar_source", "Folder (CTAR original or MovieLens)"),
                        ("text_input", "ctar_folder", "/no/such/folder")]),
])
def test_a_page_comes_back_with_every_setting_after_another_page(page, setters):
    at = _app(page)
    for kind, key, value in setters:
        getattr(at, kind)(key=key).set_value(value)
        at.run()
    before = {key: at.session_state[key] for _, key, _ in setters}
    at.switch_page("pages/large_map.py" if page == "ctar_generator" else "pages/ctar_generator.py")
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert {k: at.session_state[k] if k in at.session_state else None for k in before} == before


def test_a_pick_is_forgotten_when_its_page_is_left():
    """A pick (pages._lib.routing.PICKS: here the cluster the Bandit page explains) comes back at its default, while
    a kept setting beside it comes back as set."""
    at = _app("bandit")
    at.selectbox(key="bd_why_cluster").set_value(1)
    at.slider(key="bd_speed").set_value(5)
    at.run()
    at.switch_page("pages/ctar_generator.py")
    at.run()
    at.switch_page("pages/bandit.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert (at.slider(key="bd_speed").value, at.selectbox(key="bd_why_cluster").value) == (5, 0)


def test_presentation_mode_keeps_an_uploaded_corpus():
    data = "\n".join(json.dumps({"text": f"document {i} about topic {i % 7} and more words {i % 5}"})
                     for i in range(120)).encode()
    at = _app("ctar_generator")
    at.radio(key="sb_source").set_value("Upload a file")
    at.run()
    at.file_uploader(key="sb_upload").set_value(("mine.jsonl", data, "application/jsonl"))
    at.run()
    at.toggle(key="sb_demo").set_value(True)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.metric if m.label == "Documents"] == ["120"]  # the Tour shows the upload
    at.toggle(key=DEMO_ON).set_value(False)  # presentation mode's own toggle, which only leaves it
    at.run()
    assert any("mine" in c.value and "uploaded before" in c.value for c in at.sidebar.caption)  # still used, said so


@pytest.mark.parametrize("form", [{"ctar_n_users": 50, "ctar_rct_users": 30},
                                  {"ctar_liked_min": 25, "ctar_liked_max": 30},
                                  {"ctar_mode": "normalised", "ctar_rating_rate": 0.9}])
def test_a_generator_link_restores_a_valid_combination_whole(form):
    at = _app("ctar_generator")
    for key, value in form.items():
        (at.selectbox if key == "ctar_mode" else at.number_input)(key=key).set_value(value)
    at.run()
    opened = _app("ctar_generator", dict(at.query_params))
    assert {k: opened.session_state[k] for k in form} == form
    assert not opened.warning


def test_a_generator_link_names_what_it_cannot_restore():
    opened = _app("ctar_generator", {"n_users": "50"})  # rct_users stays 100: more than the users
    assert opened.session_state["ctar_n_users"] == 1000
    # the reason in the form's labels (it read "rct_users (100) exceeds n_users (50)"); the link's name leads
    assert opened.session_state["link_problems"] == ['n_users \'50\': "Randomized slice: users" (100) is more than '
                                                     '"Users" (50)']
    assert len(opened.warning) == 1


def test_links_carry_the_labs_conditioning_and_the_maps_match_count():
    at = _app("debiasing_lab")
    at.selectbox(key="dl_mech").set_value("confounder")
    at.run()
    at.multiselect(key="dl_cond").set_value(["confounder"])
    at.run()
    opened = _app("debiasing_lab", dict(at.query_params))
    assert opened.session_state["dl_cond"] == ["confounder"]
    assert [e.value for e in opened.error] == [e.value for e in at.error]  # the same verdict
    mapped = _app("corpus_map", {"q": "parse a date", "star": "1", "matches": "60"})
    assert mapped.session_state["cm_top_n"] == 60


def test_a_valid_exp3_gamma_below_the_sliders_first_step_opens():
    at = _app("bandit", {"policy": "exp3", "gamma": "0.005"})
    assert at.session_state["bd_gamma"] == 0.005
    assert not at.error and not at.warning
