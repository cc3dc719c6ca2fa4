"""An index the command line built is opened by the Large corpus page only if its files pass the roots today.

The command line is exempt from the roots gate: ``python -m core.corpus index --corpus allowed/corp`` reads
``allowed/corp/theirs.txt -> /outside/secret.txt`` like any file. The Large corpus page once opened that index as
it was, and showed the text read from outside (in its search results, its selection table, its hover and the
clusters' keywords). Now the index records which of its files it read through a link; the page re-checks those
(only those: the corpus is not read again) and refuses the index by name, and "Index it now" rebuilds it without
them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import access
from core.corpus.encoders import HashingEncoder
from core.corpus.stream import LargeIndexConfig, index_large_corpus
from tests._large_map import WORDS, allow_root, open_large_map
from tests._text import shown

CANARY = "zebracanary"
CONFIG = LargeIndexConfig(k=4, layout_sample=100, align_docs=0)


@pytest.fixture()
def linked_folder(tmp_path: Path, monkeypatch) -> Path:
    """``allowed/corp`` (the only root is ``allowed/``): 150 documents, one link to a file outside the roots and
    one link to a file inside them; indexed by the command line (no roots)."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    outside.mkdir()
    folder = allow_root(monkeypatch, allowed.resolve()) / "corp"
    folder.mkdir(parents=True)
    for i in range(150):
        (folder / f"doc{i:03d}.txt").write_text(f"{WORDS[i % 4]} document {i}")
    (outside / "secret.txt").write_text(f"{CANARY} {CANARY} private text from outside")
    (folder / "theirs.txt").symlink_to(outside / "secret.txt")
    (allowed / "kept.txt").write_text("apple banana fruit kept beside the folder")
    (folder / "mine.txt").symlink_to(allowed / "kept.txt")
    lmap = index_large_corpus(folder, CONFIG, encoder=HashingEncoder(16))  # the command line: roots=None
    assert CANARY in " ".join(lmap.texts(range(len(lmap))))  # the command line did read it
    return folder


def test_the_page_refuses_a_command_line_index_of_links_leading_outside_by_name(linked_folder):
    at = open_large_map(linked_folder)
    if any(t.key == "lm_query" for t in at.text_input):  # the page opened the index: search for the canary
        at.text_input(key="lm_query").set_value(CANARY)
        at.run()
    texts = " ".join(str(d.value.to_dict()) for d in at.dataframe)
    assert CANARY not in texts
    said = shown(" ".join(e.value for e in at.error))
    assert "theirs.txt" in said and "outside the allowed folders" in said, said
    assert "mine.txt" not in said  # a link that stays inside the roots is fine
    assert any(b.label == "Index it now" for b in at.button)  # the way out: rebuild it here, without those files


def test_the_check_reads_only_the_recorded_links_not_the_corpus(linked_folder, monkeypatch):
    from core.corpus.stream import open_large_index

    roots = access.allowed_roots()
    with pytest.raises(access.PathNotAllowedError, match="theirs.txt"):
        open_large_index(linked_folder, roots)
    opened: list[str] = []
    real_read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: opened.append(p.name) or real_read(p))
    monkeypatch.setenv("EQUALCTAR_ROOTS", f"{roots[0]}:{(linked_folder / 'theirs.txt').resolve().parent}")
    lmap = open_large_index(linked_folder, access.allowed_roots())  # the link's target allowed now: it opens
    assert lmap is not None and opened == []  # no file of the corpus was read again


def test_indexing_it_on_the_page_rebuilds_it_without_the_files_outside(linked_folder):
    roots = access.allowed_roots()
    lmap = index_large_corpus(linked_folder, CONFIG, encoder=HashingEncoder(16), roots=roots)  # "Index it now"
    texts = " ".join(lmap.texts(range(len(lmap))))
    assert CANARY not in texts and "kept beside the folder" in texts
    from core.corpus.stream import open_large_index

    assert open_large_index(linked_folder, roots) is not None  # the page opens the rebuilt index
    lmap = index_large_corpus(linked_folder, CONFIG, encoder=HashingEncoder(16))  # the command line again: all
    assert CANARY in " ".join(lmap.texts(range(len(lmap))))


def test_an_index_built_before_links_were_recorded_is_checked_by_walking_its_folder(linked_folder):
    from core.corpus.stream import open_large_index

    roots = access.allowed_roots()
    lmap = open_large_index(linked_folder, None)  # the command line's own open: no roots, no check
    assert lmap is not None
    meta = dict(lmap.meta)
    del meta["links"]  # as an index written before this check recorded them
    (lmap.folder / "meta.json").write_text(json.dumps(meta))
    (lmap.folder / "links.json").unlink(missing_ok=True)
    with pytest.raises(access.PathNotAllowedError, match="theirs.txt"):
        open_large_index(linked_folder, roots)
