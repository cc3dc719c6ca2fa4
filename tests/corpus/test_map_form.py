"""The Map settings form declared once (core.corpus.mapping.MAP_FIELDS): its boxes (core.corpus.views.map_form) and
its values made settings or refused in the form's words (core.corpus.views.settings_from_form)."""

from __future__ import annotations

import pytest

from core.corpus.mapping import MAP_FIELDS, MapSettings
from core.corpus.views import map_form, settings_from_form
from core.validate import refusal_of

BASE = MapSettings(encoder_name="hashing", k=8, seed=3)
FORM = {"encoder_name": "hashing", "k": 8, "umap_neighbors": 15, "umap_min_dist": 0.1, "w2_threshold": 0.2}


def test_a_refused_k_and_neighbours_are_said_with_the_forms_labels_and_nothing_applies():
    out = settings_from_form(BASE, {**FORM, "k": 0, "umap_neighbors": 1}, n_docs=120)
    assert out.settings is None
    assert out.refused == ('"Number of clusters" must be from 1 to 120, got 0; "UMAP neighbours" must be at least 2, '
                           'got 1')


def test_a_good_set_returns_the_new_settings():
    out = settings_from_form(BASE, {**FORM, "encoder_name": "static-minilm", "k": 120, "umap_neighbors": 2,
                                    "umap_min_dist": 1.0, "w2_threshold": 0.0}, n_docs=120)
    assert out.refused == ""
    assert out.settings == MapSettings(encoder_name="static-minilm", k=120, seed=3, umap_neighbors=2,
                                       umap_min_dist=1.0, w2_threshold=0.0)  # the seed is the base's


@pytest.mark.parametrize(("field", "value", "said"), [
    ("k", 121, '"Number of clusters" must be from 1 to 120, got 121'),  # was made 120 clusters, unsaid
    ("k", 2.5, '"Number of clusters" must be a whole number, got 2.5'),
    ("umap_min_dist", 1.5, '"UMAP minimum distance" must be from 0 to 1, got 1.5'),
    ("w2_threshold", -0.1, '"Neighbour threshold" must be at least 0, got -0.1'),
    ("encoder_name", " ", '"Encoder" must be a model name, local path or \'hashing\', got \' \''),
])
def test_each_box_is_refused_by_its_label(field, value, said):
    out = settings_from_form(BASE, {**FORM, field: value}, n_docs=120)
    assert out.settings is None and out.refused == said


def test_the_form_is_drawn_from_the_declaration_and_mapsettings_checks_the_same_bounds():
    form = map_form(BASE, 120, ["static-minilm", "hashing"])
    assert list(form) == list(MAP_FIELDS)  # every box declared, in the form's order
    assert [box.label for box in form.values()] == [spec.label for spec in MAP_FIELDS.values()]
    assert all(box.help and box.label not in MAP_FIELDS for box in form.values())  # words, not field names
    assert form["encoder_name"].options == ("hashing", "static-minilm") and form["k"].value == 8
    assert "120" in form["k"].help and form["k"].lo is None  # a number box sets no bounds of its own
    with pytest.raises(ValueError) as refused:
        MapSettings(encoder_name="hashing", umap_neighbors=1)
    refusal = refusal_of(refused.value)
    assert refusal is not None and refusal.field == "umap_neighbors"
    assert refusal.rule.lo == MAP_FIELDS["umap_neighbors"].lo == 2


def test_each_box_is_labelled_in_words():
    """Seen in chromium: the clusters' box read 'Clusters k', the algorithm's letter where the other boxes (and the
    Bandit page's settings, which dropped B, D and c) speak in words; k-means' k stays in the help."""
    assert MAP_FIELDS["k"].label == "Number of clusters"
    assert "k-means" in MAP_FIELDS["k"].help
    assert all(not any(len(word) == 1 for word in spec.label.split()) for spec in MAP_FIELDS.values())
