"""Reference sets: presets match the built-in corpus; uploads in JSONL/JSON/plain text; clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.equal.reference import ReferenceFormatError, list_presets, load_reference, parse_reference


def test_presets_exist_and_are_a_few_dozen_examples():
    names = list_presets()
    assert {"text-processing", "dates-and-time", "files-and-os", "networking", "numerical-arrays", "statistics"} <= set(
        names
    )
    for name in names:
        ref = load_reference(name)
        assert 20 <= len(ref) <= 60, name
        assert all(q.strip() and a.strip() for q, a in zip(ref.questions, ref.answers))
        assert len(set(ref.questions)) == len(ref), f"{name} has duplicate questions"
        assert ref.texts()[0].startswith("<|user|>\n")


def test_presets_match_their_region_of_the_builtin_corpus():
    from core.corpus.builtin import load_builtin_corpus
    from core.corpus.encoders import HashingEncoder

    corpus = load_builtin_corpus(limit=3000)
    enc = HashingEncoder(256)
    docs = enc.encode(list(corpus.texts))
    regions = {
        "numerical-arrays": "numpy",
        "statistics": "scipy.stats",
        "networking": ("socket", "http", "urllib", "email", "ssl"),
    }
    for name, prefix in regions.items():
        ref = enc.encode(load_reference(name).raw_texts())
        nearest = np.asarray(corpus.ids)[(ref @ docs.T).argmax(axis=1)]
        share = np.mean([i.startswith(prefix) for i in nearest])
        base = np.mean([i.startswith(prefix) for i in corpus.ids])
        assert share > 2.5 * base, (name, share, base)  # far more often than chance, even by word hashing


def test_parse_formats():
    jsonl = b'{"question": "Q1", "answer": "A1"}\n\n{"instruction": "Q2", "output": "A2"}\n'
    assert parse_reference(jsonl).questions == ("Q1", "Q2")
    msgs = json.dumps(
        {"messages": [{"role": "user", "content": "Q3"}, {"role": "assistant", "content": "A3"}]}
    ).encode()
    assert parse_reference(msgs).answers == ("A3",)
    assert parse_reference(b'[{"q": "Q4", "a": "A4"}, "Q5"]').questions == ("Q4", "Q5")
    plain = parse_reference("How do I sort?\n\nHow do I parse?\n")
    assert plain.questions == ("How do I sort?", "How do I parse?") and plain.answers == ("", "")
    assert load_reference(jsonl, name="mine").name == "mine"


@pytest.mark.parametrize(
    "data,match",
    [
        (b"", "empty"),
        (b'{"question": "a"}\n{bad', "line 2"),
        (b'{"foo": "bar"}', "no question field"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"[1, 2]", "item 1"),
    ],
)
def test_bad_reference_messages(data, match):
    with pytest.raises(ReferenceFormatError, match=match):
        parse_reference(data, name="up.jsonl")


def test_a_reference_set_not_in_utf8_says_where_and_what_to_do():
    """A Latin-1 file read "not UTF-8 text ('utf-8' codec can't decode byte 0xe9 in position 3: invalid continuation
    byte)": Python's words, a position from 0, nothing to do; a gzip read the same. A UTF-16 file (Excel's "Unicode
    text"), which a corpus reads, was refused."""
    with pytest.raises(ReferenceFormatError, match=r"^mine\.txt:2: not UTF-8 text \(invalid UTF-8 byte\(s\) at "
                                                   r"column 4\); save it as UTF-8 and upload it again$"):
        parse_reference("How do I sort?\ncaf\u00e9 or tea?\n".encode("latin-1"), name="mine.txt")
    import gzip

    with pytest.raises(ReferenceFormatError, match=r"^mine\.txt: it is a gzip archive, not text: decompress it"):
        parse_reference(gzip.compress(b"How do I sort?\n"), name="mine.txt")
    assert parse_reference("How do I sort?\n".encode("utf-16"), name="mine.txt").questions == ("How do I sort?",)


def test_unknown_preset_or_path():
    with pytest.raises(ReferenceFormatError, match="neither a preset"):
        load_reference("no-such-preset")


def test_a_reference_set_over_its_limit_is_refused_by_size_before_it_is_parsed(tmp_path, monkeypatch):
    """A reference set is a small list of examples: 5 MiB, not the 1 GB every upload may reach."""
    from core.equal import reference

    big = b"\xff" * (reference.MAX_REFERENCE_BYTES + 1)  # not UTF-8 either: refused by its size, never decoded
    with pytest.raises(ReferenceFormatError, match=r"big\.txt: 5\.0 MiB is too large for a reference set.*at most "
                                                   r"5\.0 MiB \(5,000 examples\); not read"):
        parse_reference(big, "big.txt")
    path = tmp_path / "big.jsonl"
    path.write_bytes(big)
    monkeypatch.setattr(type(path), "read_bytes", lambda p: pytest.fail("an oversized file was read"))
    with pytest.raises(ReferenceFormatError, match="too large for a reference set"):
        load_reference(str(path))
    fits = b"How do I sort?\n" * 1_000
    assert len(parse_reference(fits)) == 1_000  # under both limits: read as before


def test_a_reference_set_of_too_many_examples_is_refused_before_any_is_embedded():
    from core.equal.reference import MAX_REFERENCE_EXAMPLES

    many = "".join(f"q{i}\n" for i in range(MAX_REFERENCE_EXAMPLES + 1))  # small in bytes, many in examples
    with pytest.raises(ReferenceFormatError, match=r"lines\.txt: 5,001 examples are too many for a reference set"):
        parse_reference(many, "lines.txt")
    assert len(parse_reference("".join(f"q{i}\n" for i in range(MAX_REFERENCE_EXAMPLES)))) == MAX_REFERENCE_EXAMPLES
