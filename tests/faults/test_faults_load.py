"""Fault injection against corpus loading: oversized, special and malformed inputs.

Replays the probes of issue #15: a 1 MB zip expanding to 1 GB was decompressed whole; a 3 GB
non-text file in a folder was read before being skipped; a FIFO as corpus path hung forever;
dot-named zip members, dangling symlinks and FIFOs vanished without a report row; a zip upload
was refused by the uploader; a 4,450-character CJK document became one document of 4,452 word
pieces against the encoder's 256.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import random
import threading
import zipfile
from pathlib import Path

import pytest

from core.corpus.chunking import estimate_tokens, split_text
from core.corpus.load import (
    SUPPORTED_EXTENSIONS,
    CorpusFormatError,
    CorpusTooLargeError,
    EmptyCorpusError,
    LoadLimits,
    load_corpus,
    load_corpus_bytes,
)


def _kinds(report) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind, loc, _ in report.issues:
        out.setdefault(kind, []).append(loc)
    return out


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture()
def opened(monkeypatch) -> list[str]:
    """Every path opened through ``open`` while the test runs."""
    seen: list[str] = []
    real = builtins.open

    def spy(file, *args, **kwargs):
        seen.append(str(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    return seen


def test_zip_bomb_member_is_refused_before_decompressing() -> None:
    bomb = _zip({"docs/ok.txt": b"A real document about zip files.", "docs/bomb.txt": b"\0" * (8 << 20)})
    assert len(bomb) < 100_000  # 8 MB of zeros deflate to a few kB: ratio ~1000
    corpus, report = load_corpus_bytes(bomb, "upload.zip")
    assert corpus.sources == ("docs/ok.txt",)
    assert _kinds(report)["too_large"] == ["docs/bomb.txt"]
    assert "zip bomb" in report.issues[0][2]


def test_zip_total_expansion_checked_before_reading(monkeypatch) -> None:
    limits = LoadLimits(max_total_bytes=1 << 20, max_file_bytes=1 << 20, max_zip_ratio=10_000)
    members = {f"f{i}.txt": (f"document {i} " * 60_000).encode() for i in range(3)}  # ~0.7 MB each
    data = _zip(members)
    read = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: read.append(a[0]) or real_open(self, *a, **k))
    with pytest.raises(CorpusTooLargeError, match="expand to .* over the 1.0 MB limit; nothing was decompressed"):
        load_corpus_bytes(data, "big.zip", limits=limits)
    assert read == []
    small = LoadLimits(max_total_bytes=1 << 30, max_file_bytes=100_000, max_zip_ratio=10_000)
    # every member over the per-file limit: nothing remains (said in words: it read "3 too_large", a code name)
    with pytest.raises(EmptyCorpusError, match=r"none of its files was read \(3 too large\)"):
        load_corpus_bytes(data, "big.zip", limits=small)


def test_hidden_zip_members_get_a_report_row() -> None:
    data = _zip({"a.txt": b"First visible document.", ".secret.txt": b"hidden", "__MACOSX/._a.txt": b"junk",
                 "sub/.env": b"KEY=1", "image.png": b"\x89PNG"})
    corpus, report = load_corpus_bytes(data, "u.zip")
    assert corpus.sources == ("a.txt",)
    kinds = _kinds(report)
    assert sorted(kinds["hidden_file"]) == [".secret.txt", "__MACOSX/._a.txt", "sub/.env"]
    assert kinds["skipped_file"] == ["image.png"]


def test_huge_non_text_file_in_a_folder_is_skipped_unread(tmp_path: Path, opened) -> None:
    (tmp_path / "doc.txt").write_text("A small text document.")
    with open(tmp_path / "disk.img", "wb") as fh:  # sparse: 3 GB on paper, nothing on disk
        fh.truncate(3 << 30)
    with open(tmp_path / "huge.txt", "wb") as fh:
        fh.truncate(3 << 30)
    opened.clear()
    corpus, report = load_corpus(tmp_path)
    assert corpus.sources == ("doc.txt",)
    kinds = _kinds(report)
    assert kinds["skipped_file"] == ["disk.img"] and kinds["too_large"] == ["huge.txt"]
    assert not any(p.endswith(("disk.img", "huge.txt")) for p in opened)


def test_oversized_single_file_is_refused_unread(tmp_path: Path, opened) -> None:
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as fh:
        fh.truncate(2 << 30)
    opened.clear()
    with pytest.raises(CorpusTooLargeError, match="2.0 GB, over the 1.0 GB limit"):
        load_corpus(path)
    assert opened == []
    with pytest.raises(CorpusTooLargeError):
        load_corpus_bytes(b"x" * 2048, "u.jsonl", limits=LoadLimits(max_total_bytes=1024))


def _load_in_thread(path: Path) -> BaseException | None:
    box: list = []

    def target() -> None:
        try:
            load_corpus(path)
            box.append(None)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            box.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "loading a FIFO hung"
    return box[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")
def test_fifo_path_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "corpus.jsonl"
    os.mkfifo(fifo)
    exc = _load_in_thread(fifo)
    assert isinstance(exc, CorpusFormatError) and "FIFO" in str(exc)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")
def test_fifo_and_dangling_link_in_a_folder_get_rows(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("The one real document.")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "does-not-exist.txt")
    (tmp_path / ".hidden.txt").write_text("dot file")
    box: list = []
    t = threading.Thread(target=lambda: box.append(load_corpus(tmp_path)), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "a FIFO in a folder hung the load"
    corpus, report = box[0]
    assert corpus.sources == ("a.txt",)
    kinds = _kinds(report)
    assert kinds["special_file"] == ["pipe.txt"] and kinds["broken_link"] == ["gone.txt"]
    assert kinds["hidden_file"] == [".hidden.txt"]


def test_dangling_link_as_the_path_names_the_problem(tmp_path: Path) -> None:
    link = tmp_path / "c.jsonl"
    link.symlink_to(tmp_path / "missing.jsonl")
    with pytest.raises(CorpusFormatError, match="a link whose target does not exist"):
        load_corpus(link)


def test_uploader_accepts_every_supported_format_including_zip() -> None:
    from pages.common import UPLOAD_TYPES

    assert "zip" in UPLOAD_TYPES
    assert {e.lstrip(".") for e in SUPPORTED_EXTENSIONS} <= set(UPLOAD_TYPES)


# ------------------------------------------------------------------ chunking by tokens


def _cjk(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(n))


def test_cjk_without_spaces_is_split_by_the_char_rule() -> None:
    text = _cjk(4450)
    corpus, report = load_corpus_bytes(json.dumps([{"id": "zh", "text": text}]).encode(), "zh.json")
    assert len(corpus) >= 18 and all(estimate_tokens(t) <= 254 for t in corpus.texts)
    assert "".join(corpus.texts) == text  # nothing lost, nothing duplicated
    assert _kinds(report)["chunked"] == ["zh.json row 1"]


def test_mixed_text_split_keeps_words_whole_and_everything() -> None:
    words = [f"word{i}" for i in range(150)]
    text = " ".join(words[:75]) + " " + _cjk(600, 1) + " " + " ".join(words[75:])
    pieces = split_text(text, 200, 254)
    assert all(estimate_tokens(p) <= 254 for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())
    assert all(w in " ".join(pieces).split() for w in words)  # no ASCII word cut in two


@pytest.mark.slow
def test_cjk_chunks_fit_the_real_minilm_tokenizer() -> None:
    from core.corpus.encoders import token_counter

    counter = token_counter()
    assert counter is not None, "the packaged MiniLM tokenizer could not be loaded"
    count, max_tokens = counter
    assert max_tokens == 254
    text = _cjk(4450, 2)
    assert count(text) > 4000  # one word piece per character: 17x what the model reads
    corpus, _ = load_corpus_bytes(json.dumps([{"text": text}]).encode(), "zh.json", count_tokens=count,
                                  max_tokens=max_tokens)
    assert max(count(t) for t in corpus.texts) <= 254
    assert "".join(corpus.texts) == text


@pytest.mark.slow
def test_code_heavy_english_chunks_fit_the_real_minilm_tokenizer() -> None:
    """200 words of code-ish English run past 256 word pieces: the word rule alone truncated them."""
    from core.corpus.encoders import chunking_options

    opts = chunking_options()
    count = opts["count_tokens"]
    rng = random.Random(3)
    vocab = "def parse_header(buf: bytes) -> dict[str, int]: raise ValueError('bad') os.path.join x=1; y+=2".split()
    text = " ".join(rng.choice(vocab) for _ in range(190))
    assert count(text) > 254  # one word-rule chunk, cut by the model before
    corpus, _ = load_corpus_bytes(json.dumps([{"text": text}]).encode(), "code.json", **opts)
    assert len(corpus) >= 2 and max(count(t) for t in corpus.texts) <= 254
    assert " ".join(corpus.texts).split() == text.split()  # words whole, nothing lost


@pytest.mark.slow
def test_the_cli_chunks_by_the_encoders_tokenizer_like_the_page(tmp_path) -> None:
    """``python -m core.equal index/run/warmup`` loaded user corpora with the char rule only (not an upper bound)."""
    import argparse

    from core.corpus.encoders import DEFAULT_MODEL, token_counter
    from core.equal.__main__ import _load_corpus

    rng = random.Random(4)
    vocab = "def parse_header(buf: bytes) -> dict[str, int]: raise ValueError('bad') os.path.join x=1; y+=2".split()
    text = " ".join(rng.choice(vocab) for _ in range(190))  # the char rule's chunks of it run to ~300 word pieces
    path = tmp_path / "code.jsonl"
    path.write_text(json.dumps({"id": "code", "text": text}) + "\n", encoding="utf-8")
    corpus = _load_corpus(argparse.Namespace(corpus=str(path), encoder=DEFAULT_MODEL, limit=None, text_field=None))
    count, max_tokens = token_counter(DEFAULT_MODEL)
    assert max(count(t) for t in corpus.texts) <= max_tokens
    assert " ".join(corpus.texts).split() == text.split()
