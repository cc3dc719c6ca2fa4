"""The CTAR generator page says its interventions and its formulas' choice in words, with the notation after them
(it offered "do(N = 2): cut S → N" and "exact"/"normalised", and named the sampled intervention "do(n_match = 2)")."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests._text import shown

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "ctar_generator.py")


def test_interventions_and_formulas_are_offered_in_words_and_the_result_is_named_so():
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    box = at.selectbox(key="ctar_intervention")
    assert not [o for o in box.options if o.startswith("do(")], box.options
    assert "Every movie has 2 of its user's liked tags (do(N = 2))" in box.options
    assert "do(X = x)" in box.help  # the notation is explained where it is picked
    formulas = at.selectbox(key="ctar_mode")
    assert "exact" not in formulas.options and "CTAR's own formulas (exact)" in formulas.options
    assert "p <= 1" in formulas.help and "every probability at most 1" in formulas.help

    at.number_input(key="ctar_n_users").set_value(200)
    at.number_input(key="ctar_rct_users").set_value(20)
    box.set_value("do(N = 2): cut S → N")  # the value is still the notation (links carry it)
    at.button(key="ctar_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    said = [shown(m.value) for m in at.markdown if "pgmpy" in m.value]
    assert said and "Every movie has 2 of its user's liked tags (do(N = 2))" in said[0] and "n_match" not in said[0]
    table = next(d.value for d in at.dataframe if "exact (pgmpy)" in d.value.columns)
    assert table.index.name == "rating of every pair (Y)"
    marginals = next(d.value for d in at.dataframe if "Quantity" in d.value.columns)
    assert "mean rating, 1 liked tag on the movie (E[Y | N = 1])" in list(marginals["Quantity"])
    assert {"Standard error", "Within 4 standard errors"} <= set(marginals.columns)  # not "se", "ok"
    assert not {"se", "ok"} & set(marginals.columns)
