"""One gate for every server path: each path box of the app, found by a scan, refuses the same faults.

SECURITY.md promises that even a local browser names only paths under the allowed roots, with
links followed. The Large corpus page once offered "Index it now" for a file outside them, and
the CTAR generator read ``movies.csv`` links that led outside. Now every box that takes a server
path is drawn by ``pages.common.path_input`` and read through ``core.access.gate``; the scan
below fails on a new text box that is neither a path box nor declared as free text, and the
fault matrix runs against every path box the scan finds.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import access
from core.corpus.encoders import gate_encoder
from core.corpus.stream import iter_document_chunks
from core.ctar.inputs import load_inputs
from pages.common import PATH_KEYS
from tests._widget_keys import read_key

ROOT = Path(__file__).resolve().parents[2]
CANARY = "zebracanary"
#: Text boxes that take no server path: the searches, the endpoint's settings and the text field's name.
FREE_TEXT_KEYS = {"cm_query", "lm_query", "bd_base_url", "bd_model", "bd_key", "sb_text_field", "cm_tag_name",
                  "cm_tag_new_name"}
TEXT_WIDGETS = {"text_input", "text_area", "chat_input"}


def _keyword(call: ast.Call, name: str) -> str | None:
    """The literal value of the keyword ``name`` (a key declared kept, ``kept_key("bd_model")``, read inside)."""
    for kw in call.keywords:
        if kw.arg == name:
            return read_key(kw.value)[0]
    return None


def _calls(attr: str | set[str]) -> list[tuple[str, int, ast.Call]]:
    """Every call of ``<anything>.<attr>(...)`` or ``<attr>(...)`` in pages/ and app.py: ``(file, line, call)``."""
    names = {attr} if isinstance(attr, str) else attr
    found = []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        gate = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "path_input"]
        inside_gate = {id(c) for g in gate for c in ast.walk(g)}  # the one text box path_input draws
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and id(node) not in inside_gate:
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name in names:
                    found.append((path.name, node.lineno, node))
    return found


def test_every_text_box_is_a_gated_path_box_or_declared_free_text() -> None:
    strays = [f"{f}:{line} key={_keyword(c, 'key')}" for f, line, c in _calls(TEXT_WIDGETS)
              if _keyword(c, "key") not in FREE_TEXT_KEYS]
    assert strays == [], ("a text box that may take a server path must be drawn with common.path_input (and read "
                          f"with common.server_path); free text must be declared in FREE_TEXT_KEYS: {strays}")


def test_every_path_box_is_declared_and_faulted() -> None:
    drawn = {read_key(c.args[1])[0] for _, _, c in _calls("path_input") if len(c.args) > 1} - {None}
    assert len(drawn) == len(_calls("path_input")), "path_input's key must be a literal, so the scan can find it"
    assert drawn == set(PATH_KEYS), f"drawn path boxes {sorted(drawn)} != PATH_KEYS {sorted(PATH_KEYS)}"
    assert set(PATH_KEYS) == set(BOXES), "every path box needs its page in the fault matrix below"


# ------------------------------------------------------------------ the fault matrix, per path box


@pytest.fixture()
def layout(tmp_path: Path, monkeypatch):
    """``allowed/`` is the only root. ``outside/`` holds a canary corpus, CSVs and a model folder;
    ``allowed/`` holds links to each of them."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (outside / "corpus.jsonl").write_text(f'{{"text": "{CANARY} private text"}}\n')
    (outside / "movies.csv").write_text(f"movieId,title\n1,{CANARY} movie\n2,other\n")
    (outside / "tags.csv").write_text("userId,movieId,tag\n1,1,funny\n2,2,dark\n")
    (outside / "ratings.csv").write_text("userId,movieId,rating\n1,1,4.0\n2,2,3.0\n")
    links = allowed / "links"
    links.mkdir()
    for name in ("corpus.jsonl", "movies.csv", "tags.csv", "ratings.csv"):
        (links / name).symlink_to(outside / name)
    (allowed / "outside_dir").symlink_to(outside)
    monkeypatch.setenv("EQUALCTAR_ROOTS", str(allowed))
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    return allowed, outside


def _probes(allowed: Path, outside: Path, box: str) -> dict[str, str]:
    """Paths a box must refuse: outside, through a link, by ``..``, a system file, a NUL byte."""
    target = "corpus.jsonl" if box in ("sb_path", "lm_path") else ""
    return {
        "outside": str(outside / target),
        "link to a folder": str(allowed / "outside_dir" / target),
        "links inside": str(allowed / "links" / target),
        "dot-dot": str(allowed / ".." / "outside" / target),
        "system file": "/etc/passwd",
        "nul byte": str(allowed) + "\x00x",
    }


def _sidebar(at: AppTest, path: str) -> None:
    at.session_state["sb_source"] = "Local file or folder"
    at.session_state["sb_path"] = path


def _encoder(at: AppTest, path: str) -> None:
    at.session_state["sb_encoder"] = "Local model path"
    at.session_state["sb_encoder_path"] = path


def _large(at: AppTest, path: str) -> None:
    at.session_state["lm_path"] = path


def _ctar(at: AppTest, path: str) -> None:
    at.session_state["ctar_source"] = "Folder (CTAR original or MovieLens)"
    at.session_state["ctar_folder"] = path


#: path box -> (page file, how to fill it, whether a button must be pressed to read it)
BOXES = {"sb_path": ("corpus_map.py", _sidebar, None), "sb_encoder_path": ("corpus_map.py", _encoder, None),
         "lm_path": ("large_map.py", _large, None), "ctar_folder": ("ctar_generator.py", _ctar, "ctar_generate")}


def _open(box: str, path: str, home: Path) -> AppTest:
    page, fill, button = BOXES[box]
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=180)
    at.session_state["sb_builtin_limit"] = 100
    fill(at, path)
    at.run()
    if button:
        at.button(key=button).click().run()
    return at


def _shown(at: AppTest) -> str:
    parts = [e.value for e in at.error] + [e.value for e in at.warning] + [e.value for e in at.markdown]
    parts += [str(c.proto.spec) for c in at.get("plotly_chart")] + [str(d.value) for d in at.dataframe]
    parts += [m.proto.bytes.decode("utf-8", "replace") for m in at.get("bidi_component")]  # the WebGL map's payload
    return " ".join(parts)


def _refused(at: AppTest, why: str) -> None:
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert why in errors or "NUL" in errors, f"no refusal shown: {errors!r}"
    assert CANARY not in _shown(at), "the page read a file outside the roots"
    assert not [b for b in at.button if b.label == "Index it now"], "offered to index a path outside the roots"
    assert "ctar_result" not in at.session_state


@pytest.mark.parametrize("box", sorted(BOXES))
def test_each_path_box_refuses_every_probe(box, layout, product_home) -> None:
    allowed, outside = layout
    for probe, path in _probes(allowed, outside, box).items():
        at = _open(box, path, product_home)
        try:
            _refused(at, "only paths under the allowed folders")
        except AssertionError as exc:
            raise AssertionError(f"{box}, {probe} ({path!r}): {exc}") from exc


@pytest.mark.parametrize("box", sorted(BOXES))
def test_each_path_box_refuses_a_browser_from_another_machine(box, layout, monkeypatch, product_home) -> None:
    """The box is not offered to a browser on another machine, and a value sent anyway is refused unread."""
    allowed, _ = layout
    (allowed / "mine.jsonl").write_text('{"text": "an allowed document"}\n')
    monkeypatch.setattr(access, "peer_address", lambda context: "192.0.2.7")
    monkeypatch.setenv("EQUALCTAR_SERVER_PATHS", "local")
    at = _open(box, str(allowed / "mine.jsonl"), product_home)
    assert not at.exception
    assert not [t for t in at.text_input if t.key == box], f"{box} is offered to a browser on another machine"
    errors = " ".join(e.value for e in at.error)
    assert "an allowed document" not in _shown(at)
    if box.startswith("sb_"):  # the sidebar's value is still in the session: reading it is refused
        assert "shared on a network" in errors, errors


def test_ctar_files_inside_an_allowed_folder_are_read_with_their_links_followed(layout) -> None:
    allowed, outside = layout
    with pytest.raises(access.PathNotAllowedError, match="only paths under the allowed folders"):
        load_inputs(allowed / "links", roots=access.allowed_roots())
    assert CANARY in " ".join(load_inputs(outside).movie_titles.values())  # the command line is exempt


def test_an_unfinished_generated_folder_reads_its_manifest_through_the_gate(layout) -> None:
    """The CTAR page's "Generated folder": a folder with no ``done.json`` read its ``manifest.json`` unchecked, so a
    manifest linking outside the roots was opened and its ``n_blocks`` quoted in the error ("0 of 31337 blocks")."""
    from core.ctar.stream import load_stream

    allowed, outside = layout
    (outside / "private.json").write_text('{"n_blocks": 31337}')
    (allowed / "generated").mkdir()
    (allowed / "generated" / "manifest.json").symlink_to(outside / "private.json")
    with pytest.raises(access.PathNotAllowedError, match="only paths under the allowed folders") as refused:
        load_stream(allowed / "generated", roots=access.allowed_roots())
    assert "31337" not in str(refused.value)


def test_a_streamed_folder_skips_links_that_lead_outside(layout) -> None:
    allowed, _ = layout
    (allowed / "docs").mkdir()
    (allowed / "docs" / "mine.txt").write_text("an allowed document about dates")
    (allowed / "docs" / "theirs.txt").symlink_to(layout[1] / "corpus.jsonl")
    texts = [t for _, chunk in iter_document_chunks(allowed / "docs", roots=access.allowed_roots()) for t in chunk]
    assert texts == ["an allowed document about dates"]
    with pytest.raises(access.PathNotAllowedError):
        next(iter_document_chunks(allowed / "outside_dir" / "corpus.jsonl", roots=access.allowed_roots()))


def test_a_model_name_passes_and_a_model_folder_outside_is_refused(layout) -> None:
    allowed, outside = layout
    assert access.gate_model("sentence-transformers/all-MiniLM-L6-v2", None) == "sentence-transformers/all-MiniLM-L6-v2"
    (allowed / "model").mkdir()
    (allowed / "model" / "config.json").write_text("{}")
    assert access.gate_model(str(allowed / "model"), None) == str((allowed / "model").resolve())
    for bad in (str(outside), str(allowed / "outside_dir"), "~/../../etc"):
        with pytest.raises(access.PathNotAllowedError):
            access.gate_model(bad, None)
    with pytest.raises(access.PathNotAllowedError):  # allowed/ holds links out: its files are refused at load time
        access.check_model_files(access.gate_model(str(allowed), None))
    access.check_model_files(access.gate_model(str(allowed / "model"), None))
    with pytest.raises(access.PathNotAllowedError, match="shared on a network"):
        access.gate_model("sentence-transformers/all-MiniLM-L6-v2", "192.0.2.7")


def test_a_folder_inside_an_encoder_name_passes_the_gate_as_that_folder(layout, monkeypatch) -> None:
    """``static-minilm:<folder>`` loads a static model from ``<folder>`` and ``<folder>@fp32`` a transformer from
    ``<folder>``: the folder inside the name is gated, not the name as a whole (which named no existing path)."""
    allowed, outside = layout
    (outside / "mine").mkdir()
    for bad in (f"static-minilm:{outside}", f"static-minilm:{allowed / 'outside_dir'}", "static-minilm:/etc",
                f"{allowed / 'outside_dir'}@fp32", f"{outside}@bf16"):
        with pytest.raises(access.PathNotAllowedError, match="only paths under the allowed folders"):
            gate_encoder(bad, None)
    monkeypatch.chdir(outside)  # a relative folder, from a working directory that is not a root
    with pytest.raises(access.PathNotAllowedError):
        gate_encoder("mine@fp32", None)
    (allowed / "model").mkdir()
    model = (allowed / "model").resolve()
    assert gate_encoder(f"static-minilm:{allowed / 'model'}", None) == f"static-minilm:{model}"
    assert gate_encoder(f"{allowed / 'model'}@fp32", None) == f"{model}@fp32"
    assert gate_encoder("sentence-transformers/all-MiniLM-L6-v2@fp32", None) == \
        "sentence-transformers/all-MiniLM-L6-v2@fp32"  # a cached model's name, not a folder


def test_the_model_box_refuses_a_static_model_named_outside(layout, product_home) -> None:
    _, outside = layout
    _refused(_open("sb_encoder_path", f"static-minilm:{outside}", product_home), "only paths under the allowed folders")


def test_a_model_folders_files_are_checked_before_its_tokenizer_reads_them(layout, monkeypatch, product_home) -> None:
    """Loading a corpus chunks it with the chosen model's tokenizer: a tokenizer file that links outside the roots
    is refused before the tokenizer opens the folder, as the model's own files are."""
    from transformers import AutoTokenizer

    from core.corpus.encoders import packaged_model_path

    allowed, outside = layout
    (allowed / "mine.jsonl").write_text('{"text": "an allowed document about dates"}\n')
    model = allowed / "model"
    model.mkdir()
    for name in ("config.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "tokenizer.json"):
        (outside / name).write_bytes((Path(packaged_model_path()) / name).read_bytes())
        if name == "tokenizer.json":
            (model / name).symlink_to(outside / name)
        else:
            (model / name).write_bytes((outside / name).read_bytes())
    opened: list[str] = []
    real = AutoTokenizer.from_pretrained.__func__

    def spy(cls, path, *args, **kwargs):
        opened.append(str(path))
        return real(cls, path, *args, **kwargs)

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", classmethod(spy))
    at = AppTest.from_file(str(ROOT / "pages" / "corpus_map.py"), default_timeout=180)
    _sidebar(at, str(allowed / "mine.jsonl"))
    _encoder(at, str(model))
    at.run()
    assert str(model.resolve()) not in opened, "the tokenizer read a model folder whose files lead outside the roots"
    _refused(at, "only paths under the allowed folders")
