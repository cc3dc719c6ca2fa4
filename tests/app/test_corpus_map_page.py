"""The Corpus map page: AppTest on a small uploaded-from-path corpus, and a real browser run."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.viz.webgl_map import decode_payload
from tests._text import shown
from tests.corpus._mapdata import topic_corpus

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "corpus_map.py")
LOCAL = "Local file or folder"


@pytest.fixture()
def small_corpus_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    corpus, _ = topic_corpus(120, seed=5)
    path = tmp_path / "small.jsonl"
    lines = [json.dumps({"id": i, "text": t}) for i, t in zip(corpus.ids, corpus.texts)]
    path.write_text("\n".join(lines + ["{broken", json.dumps({"id": "x", "text": ""})]) + "\n")
    return path


def _app(path: Path) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["sb_source"] = LOCAL
    at.session_state["sb_path"] = str(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _map(at: AppTest) -> tuple[dict, dict]:
    """The WebGL map's payload: header and sections (the points, highlight, stars, rings)."""
    (element,) = at.get("bidi_component")
    return decode_payload(element.proto.bytes)


def test_page_shows_map_table_and_load_report(small_corpus_file):
    at = _app(small_corpus_file)
    assert not at.get("plotly_chart"), "the map is the WebGL component, not plotly"
    header, sections = _map(at)
    assert header["n"] == 120 and len(sections["x"]) == 120  # every document drawn
    assert len(header["texts"]) == 120 and header["texts"][0].startswith("doc0 · cluster ")  # hover: id, cluster, text
    levels = {lab[0] for lab in header["labels"]}
    assert levels == {0, 1}  # coarse groups and clusters, by zoom
    assert all(" " in lab[2] for lab in header["labels"] if lab[0] == 1)  # phrases, not one token each
    assert [e[0] for e in header["legend"]["entries"]] == list(range(8)) and header["legend"]["clusters"]
    assert sum(e[3] for e in header["legend"]["entries"]) == 120
    said = next(c for c in at.caption if "120 documents" in c.value)
    assert "hashing" in said.value and "embedding space" not in said.value  # the space's id is code: in the help
    assert "hashing-" in said.proto.help, said.proto.help
    assert len(at.dataframe) >= 2  # load report issues + cluster table
    assert any("1 malformed json" in shown(e.label) for e in at.expander)  # the label is escaped
    clusters = at.dataframe[1].value
    assert {"cluster", "size", "keywords", "representatives"} <= set(clusters.columns)
    assert clusters["size"].sum() == 120


def test_search_and_settings_rebuild(small_corpus_file):
    at = _app(small_corpus_file)
    before = at.get("bidi_component")[0].proto.bytes
    at.text_input[0].set_value("numpy array shape dtype").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Nearest documents" in m.value for m in at.markdown)
    assert len(at.dataframe[1].value) == 20  # the matches listed under the search box, with their text
    assert "numpy" in " ".join(at.dataframe[1].value["text"]).lower()
    headed = json.loads(at.dataframe[1].proto.columns)  # headed in words: the code's doc_id and score stay in the data
    assert headed["doc_id"]["label"] == "document" and headed["score"]["label"].startswith("similarity"), headed
    header, sections = _map(at)  # the map is not re-sent for a search: the session sent these points already
    assert "x" not in sections and "texts" not in header and header["v"] == decode_payload(before)[0]["v"]
    at.toggle(key="cm_star").set_value(True).run()
    header, sections = _map(at)
    assert len(sections["stars"]) == 20  # the matches are stars over the same points
    assert {f"doc{r}" for r in sections["stars"]} == set(at.dataframe[1].value["doc_id"])  # doc<row>
    at.text_input[0].set_value("").run()
    assert len(_map(at)[1]["stars"]) == 0
    at.number_input[0].set_value(3)  # k inside the settings form
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    (overrides,) = at.session_state["map_overrides"].values()  # for this corpus only
    assert overrides["k"] == 3 and "seed" not in overrides  # the sidebar's Seed is the one seed
    assert len(_map(at)[0]["legend"]["entries"]) == 3  # one legend entry per cluster
    other = small_corpus_file.with_name("other.jsonl")  # another corpus: the settings made for this one stay here
    other.write_text("\n".join(small_corpus_file.read_text().splitlines()[:80]) + "\n")
    at.session_state["sb_path"] = str(other)
    at.run()
    assert len(_map(at)[0]["legend"]["entries"]) == 6  # its own default k, sqrt(80 / 2)


def test_an_impossible_map_setting_is_refused_in_words_and_keeps_the_map(small_corpus_file):
    """UMAP neighbours 1 turned its box red (the browser's own bound) and Rebuild then rebuilt the old settings with
    not a word: the setting is refused under the popover, in the form's words, and the map keeps its settings."""
    at = _app(small_corpus_file)
    boxes = {b.label: b for b in at.number_input}
    boxes["UMAP neighbours"].set_value(1)
    boxes["Number of clusters"].set_value(3)
    next(b for b in at.button if b.label == "Rebuild the map").click().run()
    assert not at.exception, [e.value for e in at.exception]
    said = shown(" ".join(e.value for e in at.error))
    assert '"UMAP neighbours" must be at least 2, got 1' in said and "umap_neighbors" not in said, said
    assert "map_overrides" not in at.session_state  # nothing applied: not even the valid k beside it
    boxes = {b.label: b for b in at.number_input}
    boxes["UMAP neighbours"].set_value(5)
    next(b for b in at.button if b.label == "Rebuild the map").click().run()
    assert not at.error, [e.value for e in at.error]
    (overrides,) = at.session_state["map_overrides"].values()
    assert overrides["umap_neighbors"] == 5 and overrides["k"] == 3


def test_a_refusal_gives_way_as_soon_as_a_valid_rebuild_reruns(small_corpus_file):
    """Seen in chromium on the 11,357-document built-in corpus: after 'Number of clusters' 0 was refused and 41 then
    rebuilt the map, the popover kept 'Not applied: ... got 0' (faded, as Streamlit leaves an element the rerun has
    not reached yet) beside the 41 being applied, for the minutes the new map took. Each refusal's place is drawn on
    every run, before the map is built, so the rerun clears it at once."""
    at = _app(small_corpus_file)

    def after(block, kind: str) -> str:  # the type of the element that follows the first ``kind`` in ``block``
        types = [c.type for c in block.children.values()]
        return types[types.index(kind) + 1] if kind in types[:-1] else "nothing"

    {b.label: b for b in at.number_input}["Number of clusters"].set_value(0)
    next(b for b in at.button if b.label == "Rebuild the map").click().run()
    popover = at.get("popover")[0]
    assert after(popover, "form") == "error" and after(at.main, "popover") == "error"  # refused, in and under
    {b.label: b for b in at.number_input}["Number of clusters"].set_value(3)
    next(b for b in at.button if b.label == "Rebuild the map").click().run()
    assert not at.error, [e.value for e in at.error]
    popover = at.get("popover")[0]
    assert after(popover, "form") == "empty" and after(at.main, "popover") == "empty"  # the places, cleared


def test_k_zero_is_refused_not_drawn_as_one_cluster(small_corpus_file):
    """k 0 was raised to 1 before MapSettings saw it (the overrides keep k within 1..n): Rebuild drew a map of one
    cluster, unsaid. It is refused like any other impossible setting, in the form's words, and nothing is applied."""
    at = _app(small_corpus_file)
    {b.label: b for b in at.number_input}["Number of clusters"].set_value(0)
    next(b for b in at.button if b.label == "Rebuild the map").click().run()
    assert not at.exception, [e.value for e in at.exception]
    said = [shown(e.value) for e in at.error]
    assert len(said) == 2, said  # in the popover and under it
    assert all('"Number of clusters" must be from 1 to 120, got 0' in s for s in said), said
    assert "map_overrides" not in at.session_state and len(_map(at)[0]["legend"]["entries"]) == 8  # the map keeps k


def test_a_query_with_no_known_word_lists_no_documents(small_corpus_file):
    """Punctuation and an emoji encode to zeros under the hashing encoder (an emoji does under the static tier):
    every document scores 0 alike, so none is "nearest"; 20 arbitrary ones were listed and starred."""
    at = _app(small_corpus_file)
    at.toggle(key="cm_star").set_value(True)
    at.text_input[0].set_value("!!! \N{SLIGHTLY SMILING FACE}").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No searchable words" in c.value for c in at.caption)
    assert not any("Nearest documents" in m.value for m in at.markdown)
    assert not any("score" in d.value.columns for d in at.dataframe)
    assert len(_map(at)[1]["stars"]) == 0
    at.text_input[0].set_value("numpy array !!!").run()  # one known word is enough
    assert any("Nearest documents" in m.value for m in at.markdown)
    assert len(_map(at)[1]["stars"]) == 20


def test_bad_path_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["sb_source"] = LOCAL
    at.session_state["sb_path"] = str(tmp_path / "nope.jsonl")
    at.run()
    assert not at.exception
    assert at.error and "does not exist" in at.error[0].value


@pytest.mark.browser
def test_browser_renders_the_map(app_url, page, output_dir):
    page.goto(f"{app_url}/", wait_until="domcontentloaded")  # the default page lives at the root URL
    page.locator("[data-testid='corpus-map'][data-points='600']").wait_for(timeout=180_000)  # every document
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator("[data-testid='corpus-map'] canvas").count() == 2  # the points (WebGL) and the labels
    output_dir.mkdir(exist_ok=True)
    page.screenshot(path=str(output_dir / "corpus_map.png"), full_page=True)


WARMUP = "Contrastive warm-up (EQUAL stage A)"


def test_warmup_panel_explains_the_hashing_encoder(small_corpus_file, tmp_path, monkeypatch):
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))
    at = _app(small_corpus_file)
    assert any(e.label == WARMUP for e in at.expander)
    assert any("hashing test encoder has no weights to fine-tune" in i.value for i in at.info)
    run = next(b for b in at.button if b.label == "Run the warm-up")
    assert run.disabled
    assert not any("Latest warm-up" in m.value for m in at.markdown)  # nothing saved for this corpus yet


def test_saved_warmup_report_survives_and_switches_the_encoder(small_corpus_file, tmp_path, monkeypatch):
    """A report saved next to a model folder is shown in a fresh session (a closed tab loses
    nothing), and the button switches the encoder to that folder (its map pre-cached here)."""
    from dataclasses import replace

    from core.corpus.load import load_corpus
    from core.corpus.mapping import MapSettings, build_corpus_map, save_corpus_map
    from core.equal.warmup_report import REPORT_FILE

    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))
    corpus, _ = load_corpus(small_corpus_file)
    model = tmp_path / "home" / "encoders" / "warmup-test"
    model.mkdir(parents=True)
    report = {"ari": 0.4321, "nmi": 0.6, "n_clusters_before": 8, "n_clusters_after": 8, "n_scored": 6,
              "spread_before": 0.2, "spread_after": 0.15, "spread_change": -0.05, "explained_before": 0.1,
              "explained_after": 0.3, "n_train_pairs": 9, "n_docs_sampled": 6, "n_docs_with_pairs": 5,
              "n_steps": 4, "seconds": 3.0, "train_loss_start": 2.0, "train_loss_end": 0.5,
              "eval_loss_before": 1.2, "eval_loss_after": 0.9, "recall_at_1_before": 0.5, "recall_at_1_after": 0.8,
              "loss_history": [2.0, 1.5, 1.0, 0.5], "model_path": str(model), "base_model": "hashing",
              "reference": "files-and-os", "corpus_hash": corpus.content_hash, "k": 8, "created": 1.0}
    (model / REPORT_FILE).write_text(json.dumps(report))
    base = build_corpus_map(corpus, MapSettings(encoder_name="hashing", k=8, seed=0))
    save_corpus_map(replace(base, settings=MapSettings(encoder_name=str(model), k=8, seed=0)))

    at = _app(small_corpus_file)
    assert any("Latest warm-up" in m.value and "9 pairs" in m.value for m in at.markdown)
    assert any(m.label == "ARI before vs after" and m.value == "0.432" for m in at.metric)
    table = next(d.value for d in at.dataframe if "measure" in d.value.columns)
    spread = table[table["measure"].str.startswith("Within-cluster reward spread")].iloc[0]
    assert (spread["before"], spread["after"]) == (0.2, 0.15)
    assert len(at.get("plotly_chart")) == 1 and len(at.get("bidi_component")) == 1  # the loss curve; the map
    use = next(b for b in at.button if b.label == "Use the warmed-up encoder")
    assert not use.disabled
    use.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["sb_encoder"] == "Local model path" and at.session_state["sb_encoder_path"] == str(model)
    assert any(f"encoder {model}" in shown(c.value) for c in at.caption)
    assert next(b for b in at.button if b.label == "Use the warmed-up encoder").disabled


@pytest.mark.slow
def test_warmup_runs_from_the_page_with_the_packaged_model(tmp_path, monkeypatch):
    from tests.equal.test_warmup_flow import _corpus

    monkeypatch.delenv("EQUALCTAR_ENCODER", raising=False)
    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))
    corpus = _corpus(40)
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in zip(corpus.ids, corpus.texts)))
    at = _app(path)
    assert not at.info  # a real model: no hashing message
    next(n for n in at.number_input if n.label == "Sample share (%)").set_value(50.0)
    next(n for n in at.number_input if n.label == "Batch size").set_value(8)
    next(b for b in at.button if b.label == "Run the warm-up").click().run()
    job = at.session_state["cm_warmup_job"]  # a thread job the page polls: the page answers while it trains
    assert any(p.proto.text.endswith("s so far") for p in at.get("progress"))
    job.wait(900)
    at.run()
    assert job.status == "done", job.error
    assert "train" in job.stages and len(job.stages) >= 6
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert any("Latest warm-up" in m.value and "20 sampled documents" in m.value for m in at.markdown)
    assert next(m for m in at.metric if m.label == "Documents scored").value == "20"
    next(b for b in at.button if b.label == "Use the warmed-up encoder").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["sb_encoder_path"].startswith(str(tmp_path / "home" / "encoders" / "warmup-"))
    assert any("encoder " + at.session_state["sb_encoder_path"] in shown(c.value) for c in at.caption)


def test_warmup_runs_as_a_job_the_page_polls_and_cancels(small_corpus_file, tmp_path, monkeypatch):
    """A warm-up that reports as it goes: the page shows its stage while it runs, Cancel stops it."""
    from core.equal import warmup_report

    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))

    def training(corpus, base, extractor, config, settings, reference, progress=None, **_):
        for i in range(600):  # 30 s unless cancelled
            progress("train", i / 600)
            time.sleep(0.05)
        raise AssertionError("the warm-up was not cancelled")

    monkeypatch.setattr(warmup_report, "warm_up_and_compare", training)
    at = _app(small_corpus_file)
    job = warmup_report.warmup_job(None, "model", None, None, None, None)
    at.session_state["cm_warmup_job"] = job
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Fine-tuning the encoder on CPU" in p.proto.text for p in at.get("progress"))
    assert next(b for b in at.button if b.label == "Run the warm-up").disabled  # one warm-up at a time
    at.button(key="cm_warmup_cancel").click().run()
    job.wait(10)
    at.run()
    assert job.status == "cancelled" and job.stages == ["train"]  # "failed" had the fake run to its end
    assert any("Warm-up cancelled" in w.value for w in at.warning)


def test_forget_encoder_drops_only_that_models_encoder_and_maps():
    from core.corpus.mapping import MapSettings
    from pages import common

    first, other = common.encoder("hashing-16"), common.encoder("hashing-32")
    assert common.encoder("hashing-16") is first  # cached
    maps = common.map_memo()
    stale, kept = ("h", MapSettings(encoder_name="hashing-16", k=2)), ("h", MapSettings(encoder_name="hashing-32", k=2))
    maps[stale], maps[kept] = "stale", "kept"
    common.forget_encoder("hashing-16")
    assert common.encoder("hashing-16") is not first and common.encoder("hashing-32") is other
    assert stale not in maps and maps.pop(kept) == "kept"


def test_colour_by_a_column_and_a_stale_link_say_what_they_could_not_restore(small_corpus_file):
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["sb_source"] = LOCAL
    at.session_state["sb_path"] = str(small_corpus_file)
    at.session_state["cm_map_link"] = "0123456789abcdef"  # an old link's map version
    at.session_state["cm_color"] = "year"  # a column this corpus does not have
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown_warnings = " ".join(w.value for w in at.warning)
    assert "0123456789abcdef no longer exists" in shown(shown_warnings)
    assert "cannot be coloured by year" in shown_warnings
    header, sections = _map(at)
    assert header["n"] == 120 and header["legend"]["title"] == "cluster"  # the current version is drawn
    assert f"current version, {header['v']}" in shown(shown_warnings)
    at.session_state["corpus_map_webgl"] = {"have": header["v"]}  # the map's own first rerun: the notes stay
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    again = " ".join(w.value for w in at.warning)
    assert "cannot be coloured by year" in again and "0123456789abcdef no longer exists" in shown(again)
    at.selectbox(key="cm_color").set_value("length (characters)").run()
    assert not at.exception, [e.value for e in at.exception]
    header, sections = _map(at)
    assert header["legend"]["title"].startswith("length (characters), ") and not header["legend"]["clusters"]
    assert sum(e[3] for e in header["legend"]["entries"]) == 120
    assert len(sections["z"]) == 120 and "x" not in sections  # the same points: their new colour codes alone travel
    assert set(np.unique(sections["z"]).astype(int)) <= {e[0] for e in header["legend"]["entries"]}
    assert not at.warning  # said until the colouring changed
    # the page's caption said "colours are its cluster (EQUAL's arms)" over a map coloured by length
    assert not [c.value for c in at.caption if "colours are its cluster" in c.value]
    assert any("or by what Colour by, under the map, names" in c.value for c in at.caption)


def test_a_clicked_document_lists_its_neighbours_and_rings_them(small_corpus_file):
    from core.viz.webgl_map import decode_payload_header

    at = _app(small_corpus_file)
    header = decode_payload_header(at.get("bidi_component")[0].proto.bytes)
    one = base64.b64encode(np.array([7], dtype="<i4").tobytes()).decode()
    at.session_state["corpus_map_webgl"] = {"have": header["v"],
                                            "selection": {"seq": 1, "n": 120, "v": header["v"], "enc": "i32",
                                                          "b64": one}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Nearest neighbours of doc7" in c.value for c in at.caption)
    near = next(d.value for d in at.dataframe if "score" in d.value.columns and len(d.value) == 10)
    assert "doc7" not in set(near["doc_id"]) and near["score"].is_monotonic_decreasing
    _, sections = _map(at)
    assert {f"doc{r}" for r in sections["marks"]} == set(near["doc_id"])
    assert "x" not in sections  # the browser holds this version: the points are not sent again


def test_the_points_go_once_per_session_and_again_when_the_browser_asks(small_corpus_file):
    # the browser does not report each draw (that rerun request could swallow a page switch clicked meanwhile): the
    # session remembers what it sent, and a map mounted again (a page switched back) asks with have=None
    at = _app(small_corpus_file)
    header, sections = _map(at)
    assert len(sections["x"]) == 120
    at.run()
    header, sections = _map(at)
    assert "x" not in sections
    at.session_state["corpus_map_webgl"] = {"have": None}  # what the browser sends when it lacks the points
    at.run()
    header, sections = _map(at)
    assert len(sections["x"]) == 120 and len(header["texts"]) == 120
    at.session_state["corpus_map_webgl"] = {"have": header["v"]}  # its answer once drawn
    at.run()
    assert "x" not in _map(at)[1]


def _select(at: AppTest, rows: list[int], seq: int) -> None:
    """The WebGL map's selection, as the browser reports it: ``rows`` of the points, the selection's counter."""
    from core.viz.webgl_map import decode_payload_header

    header = decode_payload_header(at.get("bidi_component")[0].proto.bytes)
    b64 = base64.b64encode(np.array(rows, dtype="<i4").tobytes()).decode()
    at.session_state["corpus_map_webgl"] = {"have": header["v"], "selection": {"seq": seq, "n": 120, "v": header["v"],
                                                                               "enc": "i32", "b64": b64}}
    at.run()


def test_saving_a_tag_under_a_taken_name_is_refused_and_keeps_the_first(small_corpus_file, tmp_path, monkeypatch):
    """A second "dates" replaced the first tag's documents without a word ("Saved the tag")."""
    from core.corpus.tags import TagStore
    from core.settings import cache_dir

    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))
    at = _app(small_corpus_file)
    _select(at, [1, 2, 3], seq=1)
    at.text_input(key="cm_tag_name").set_value("dates")
    at.button(key="cm_tag_save").click().run()
    assert any("Saved the tag" in s.value for s in at.success)
    _select(at, [7], seq=2)
    at.text_input(key="cm_tag_name").set_value("dates")
    at.button(key="cm_tag_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.success
    (error,) = at.error
    assert "Could not save the tag" in error.value and "“dates” already exists" in error.value
    assert "3 documents" in error.value
    assert at.text_input(key="cm_tag_name").value == "dates"  # the name typed is kept, to be changed
    (path,) = cache_dir("tags").glob("*.json")  # the corpus's tags
    (tag,) = TagStore(path.stem).tags()
    assert tag.doc_ids == ("doc1", "doc2", "doc3")


def test_a_renamed_tag_keeps_its_documents_stars_and_refuses_a_taken_name(small_corpus_file, tmp_path, monkeypatch):
    """Tags could be saved and deleted but not renamed: the page renames one, its stars follow, a taken or empty
    name is refused by name with nothing lost, and the new name shows escaped."""
    from core.corpus.tags import TagStore
    from core.settings import cache_dir

    monkeypatch.setenv("EQUALCTAR_HOME", str(tmp_path / "home"))
    at = _app(small_corpus_file)
    for seq, (rows, name) in enumerate([([1, 2, 3], "dates"), ([7], "files")], start=1):
        _select(at, rows, seq=seq)
        at.text_input(key="cm_tag_name").set_value(name)
        at.button(key="cm_tag_save").click().run()
    at.multiselect(key="cm_tags_shown").set_value(["dates"]).run()
    assert sorted(_map(at)[1]["stars"]) == [1, 2, 3]
    (path,) = cache_dir("tags").glob("*.json")
    store = TagStore(path.stem)

    for typed, why in [("files", "“files” already exists (1 document)"), ("  ", "a tag needs a name")]:
        at.selectbox(key="cm_tag_rename").set_value("dates").run()  # as in a browser: choosing reruns
        at.text_input(key="cm_tag_new_name").set_value(typed)
        at.button(key="cm_tag_rename_go").click().run()
        assert not at.exception, [e.value for e in at.exception]
        (error,) = at.error
        assert "Could not rename the tag" in shown(error.value) and why in shown(error.value)
        assert [(t.name, t.doc_ids) for t in store.tags()] == [("dates", ("doc1", "doc2", "doc3")),
                                                               ("files", ("doc7",))]
        assert at.text_input(key="cm_tag_new_name").value == typed  # the name typed is kept, to be changed

    at.selectbox(key="cm_tag_rename").set_value("dates").run()
    at.text_input(key="cm_tag_new_name").set_value("date *parsing*")
    at.button(key="cm_tag_rename_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (done,) = at.success
    assert "Renamed the tag “dates” to “date \\*parsing\\*”" in done.value  # user text escaped
    assert [(t.name, t.doc_ids) for t in store.tags()] == [("date *parsing*", ("doc1", "doc2", "doc3")),
                                                           ("files", ("doc7",))]
    assert at.multiselect(key="cm_tags_shown").value == ["date *parsing*"]  # still starred, by its new name
    assert sorted(_map(at)[1]["stars"]) == [1, 2, 3]
    assert at.selectbox(key="cm_tag_delete").options == ["date *parsing*", "files"]
    assert at.text_input(key="cm_tag_new_name").value == ""

    store.rename("files", "file io")  # another session renames a tag this one stars
    at.multiselect(key="cm_tags_shown").set_value(["date *parsing*", "files"])
    at.run()
    assert at.multiselect(key="cm_tags_shown").value == ["date *parsing*", "file io"]
    assert sorted(_map(at)[1]["stars"]) == [1, 2, 3, 7]


def test_a_one_document_corpus_is_counted_in_the_singular(tmp_path, monkeypatch):
    """An upload of one text file read "1 documents, 1 clusters" under the map and in its load report."""
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    path = tmp_path / "note.txt"
    path.write_text("Parse a date from a string and convert it to a time zone.")
    at = _app(path)
    assert any(c.value.startswith("1 document, 1 cluster, map made") for c in at.caption)
    assert any("1 document from 1 record" in e.label for e in at.expander)


def test_the_elbow_of_a_one_document_corpus_says_there_is_no_curve(tmp_path, monkeypatch):
    """Compute the inertia curve on one document ran k-means for no k and failed ('the inertia curve is empty')."""
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    path = tmp_path / "note.txt"
    path.write_text("Parse a date from a string and convert it to a time zone.")
    at = _app(path)
    assert not any(b.label == "Compute the inertia curve" for b in at.button)
    assert any("has 1 document, too few for two clusters" in c.value for c in at.caption)
    two = tmp_path / "two.jsonl"
    two.write_text(json.dumps({"text": "open a file"}) + "\n" + json.dumps({"text": "parse a date"}) + "\n")
    at.session_state["sb_path"] = str(two)
    at.run()
    next(b for b in at.button if b.label == "Compute the inertia curve").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Suggested k = 2" in c.value for c in at.caption)


def test_a_selection_survives_the_map_being_rebuilt_under_it(small_corpus_file):
    """A new map version (another k here; the MiniLM upgrade alike) leaves the browser's selection on the old one,
    which selects nothing of the new map under the same counter: that read as the user deselecting, and the
    documents listed were dropped. They are the same documents: they stay listed until the user selects anew."""
    at = _app(small_corpus_file)
    _select(at, [1, 2, 3], seq=1)
    assert any("Selected documents (3)" in h.value for h in at.subheader)
    version = _map(at)[0]["v"]
    at.number_input[0].set_value(3)  # k inside the settings form
    at.button[0].click().run()
    at.run()  # the browser's next report: still its selection on the old version
    assert _map(at)[0]["v"] != version
    assert any("Selected documents (3)" in h.value for h in at.subheader)
    _select(at, [], seq=2)  # the user's own deselecting on the new map still clears
    assert any("Selected documents (0)" in h.value for h in at.subheader)


def test_a_search_is_answered_by_the_map_on_show(small_corpus_file):
    """The matches were kept by the embedding space and the corpus's length: another corpus of as many documents
    showed the first one's matches (none of its ids, so an empty table under "20 best first"), and another k
    kept the old clusters in the matches' cluster column."""
    at = _app(small_corpus_file)
    at.text_input[0].set_value("numpy array shape dtype").run()
    at.number_input[0].set_value(2)  # k inside the settings form
    at.button[0].click().run()
    hits = next(d.value for d in at.dataframe if "score" in d.value.columns)
    frame = next(d.value for d in at.dataframe if "keywords" in d.value.columns)
    assert len(frame) == 2
    hover = [text.split(":")[0].split(" · ") for text in _map(at)[0]["texts"]]  # "<id> · cluster <c>: <text>"
    drawn = {doc_id: cluster for doc_id, cluster in hover}
    assert [f"cluster {c}" for c in hits["cluster"]] == [drawn[d] for d in hits["doc_id"]]
    other = small_corpus_file.with_name("same_size.jsonl")  # as many documents, other ids
    other.write_text("".join(json.dumps({"id": f"other{i}", "text": json.loads(line)["text"] + " again"}) + "\n"
                             for i, line in enumerate(small_corpus_file.read_text().splitlines()[:120])))
    at.session_state["sb_path"] = str(other)
    at.run()
    hits = next(d.value for d in at.dataframe if "score" in d.value.columns)
    assert len(hits) == 20 and hits["doc_id"].str.startswith("other").all()


def test_a_corpus_of_repeats_says_k_was_lowered_and_shows_no_empty_cluster(tmp_path, monkeypatch):
    from tests.corpus._mapdata import repeats

    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    path = tmp_path / "repeats.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in repeats()))
    at = _app(path)  # 150 documents: the default k is 9, but they embed as 3
    assert any("k lowered to 3: only 3 distinct documents" in i.value for i in at.info)
    assert any("150 documents, 3 clusters" in c.value for c in at.caption)
    assert len(_map(at)[0]["legend"]["entries"]) == 3
