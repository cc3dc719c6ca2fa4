"""Saved selections ("tags"): kept per corpus across sessions, refused with a reason, a reference task for a run."""

from __future__ import annotations

import pytest

from core.corpus.tags import TagError, TagStore
from core.equal.extract import make_extractor
from core.equal.reference import ReferenceFormatError, reference_from_tag, tag_choice_now, tag_choices
from tests.corpus._mapdata import topic_corpus


def test_tags_belong_to_their_corpus_and_survive_a_new_store(tmp_path) -> None:
    TagStore("corpus-a", root=tmp_path).save("dates", ["d1", "d2", "d1"])
    TagStore("corpus-a", root=tmp_path).save("files", ["d3"])
    again = TagStore("corpus-a", root=tmp_path)
    assert [(t.name, t.doc_ids) for t in again.tags()] == [("dates", ("d1", "d2")), ("files", ("d3",))]
    assert TagStore("corpus-b", root=tmp_path).tags() == []  # another corpus has its own tags
    again.save("dates", ["d4"])  # the same name replaces
    assert again.get("dates").doc_ids == ("d4",) and len(again.tags()) == 2
    again.delete("files")
    assert [t.name for t in TagStore("corpus-a", root=tmp_path).tags()] == ["dates"]


@pytest.mark.parametrize("name, ids, why", [("  ", ["d1"], "needs a name"), ("x" * 61, ["d1"], "at most 60"),
                                            ("ok", [], "select documents"), ("ok", ["d1", "zz"], "not in this corpus")])
def test_a_tag_that_cannot_be_saved_says_why_and_changes_nothing(tmp_path, name, ids, why) -> None:
    store = TagStore("c", root=tmp_path)
    store.save("kept", ["d1"])
    with pytest.raises(TagError, match=why):
        store.save(name, ids, known=["d1", "d2"])
    assert [t.name for t in store.tags()] == ["kept"]


def test_a_taken_name_is_refused_without_replace_and_the_first_tag_kept(tmp_path) -> None:
    store = TagStore("c", root=tmp_path)
    store.save("dates", ["d1", "d2"])
    with pytest.raises(TagError, match="“dates” already exists \\(2 documents\\)"):
        store.save(" dates ", ["d3"], replace=False)  # the name as saved: spaces collapsed
    assert store.get("dates").doc_ids == ("d1", "d2")
    store.save("dates", ["d3"], replace=True)
    assert store.get("dates").doc_ids == ("d3",)


def test_a_damaged_tag_file_reads_as_no_tags_and_is_replaced(tmp_path) -> None:
    store = TagStore("c", root=tmp_path)
    store.path.write_text("{not json")
    assert store.tags() == []
    store.save("fresh", ["d1"])
    assert [t.name for t in store.tags()] == ["fresh"]


def test_a_tag_is_a_reference_task_made_of_its_documents(tmp_path) -> None:
    corpus, _ = topic_corpus(60, seed=3)
    store = TagStore(corpus.content_hash, root=tmp_path)
    store.save("first ten", corpus.ids[:10])
    (choice,) = tag_choices(store.tags())
    assert choice == "Tag: first ten"
    ref = reference_from_tag(choice, store.tags(), corpus, make_extractor("rules"))
    assert ref.name == "tag: first ten" and 1 <= len(ref) <= 200
    texts = " ".join(corpus.texts[:10])
    assert all(q[:40] in texts for q in ref.questions if q)  # every question comes from a tagged document
    with pytest.raises(ReferenceFormatError, match="no such tag"):
        reference_from_tag("Tag: gone", store.tags(), corpus, make_extractor("rules"))


def test_sessions_saving_tags_at_once_keep_every_tag(tmp_path) -> None:
    """Sessions are threads of one server: eight saving at once, each its own tags, lose none of them (a save
    once read the file, added its tag and wrote it back, dropping a tag another session wrote meanwhile)."""
    import threading

    start = threading.Barrier(8)

    def save(session: int) -> None:
        start.wait()
        for n in range(10):
            TagStore("c", root=tmp_path).save(f"s{session}-{n}", ["d1"], known=["d1", "d2"])

    threads = [threading.Thread(target=save, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(t.name for t in TagStore("c", root=tmp_path).tags()) == sorted(
        f"s{s}-{n}" for s in range(8) for n in range(10))


def test_a_renamed_tag_keeps_its_documents_and_place_and_other_sessions_find_it(tmp_path) -> None:
    import pandas as pd

    from core.corpus.tags import current_names, tag_membership

    store = TagStore("c", root=tmp_path)
    first = store.save("dates", ["d1", "d2"])
    store.save("files", ["d3"])
    renamed = store.rename("dates", "  date   parsing ")  # cleaned as a save cleans it
    assert (renamed.name, renamed.doc_ids, renamed.created, renamed.former) == (
        "date parsing", ("d1", "d2"), first.created, ("dates",))
    again = TagStore("c", root=tmp_path)  # another session
    assert [t.name for t in again.tags()] == ["date parsing", "files"] and again.get("dates") is None
    # a session still holding the old name (the tags it stars, its chosen reference task) follows the rename
    assert current_names(again.tags(), ["files", "dates"]) == ["files", "date parsing"]
    assert tag_choice_now("Tag: dates", again.tags()) == "Tag: date parsing"
    assert tag_choice_now("numerical-arrays", again.tags()) == "numerical-arrays"
    frame = pd.DataFrame({"doc_id": ["d1", "d2", "d3"], "text": ["a", "b", "c"]})
    assert tag_membership(frame, again.tags())["tags"].tolist() == ["date parsing", "date parsing", "files"]
    again.rename("date parsing", "dates")  # back again: the old name is free once renamed
    assert again.get("dates").former == ("dates", "date parsing")
    assert current_names(again.tags(), ["date parsing", "dates"]) == ["dates"]


@pytest.mark.parametrize("old, new, why", [
    ("dates", "   ", "needs a name"), ("dates", "x" * 61, "at most 60"),
    ("dates", " dates", "already named “dates”"), ("dates", "files", "“files” already exists \\(1 document\\)"),
    ("gone", "fresh", "no tag named “gone” any more")])
def test_a_rename_that_is_refused_says_why_and_changes_nothing(tmp_path, old, new, why) -> None:
    store = TagStore("c", root=tmp_path)
    store.save("dates", ["d1", "d2"])
    store.save("files", ["d3"])
    before = store.path.read_bytes()
    with pytest.raises(TagError, match=why):
        store.rename(old, new)
    assert store.path.read_bytes() == before


def test_sessions_renaming_and_saving_tags_at_once_lose_nothing(tmp_path) -> None:
    """Four sessions rename their tags while four others save new ones, all at once: every rename and every save
    is kept (a rename that read the file outside the lock wrote back a list without the tags saved meanwhile)."""
    import threading

    for s in range(4):
        for n in range(10):
            TagStore("c", root=tmp_path).save(f"r{s}-{n}", [f"d{n}"])
    start = threading.Barrier(8)

    def rename(session: int) -> None:
        start.wait()
        for n in range(10):
            TagStore("c", root=tmp_path).rename(f"r{session}-{n}", f"renamed {session}-{n}")

    def save(session: int) -> None:
        start.wait()
        for n in range(10):
            TagStore("c", root=tmp_path).save(f"s{session}-{n}", ["d1"])

    threads = [threading.Thread(target=f, args=(s,)) for f in (rename, save) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tags = TagStore("c", root=tmp_path).tags()
    assert sorted(t.name for t in tags) == sorted([f"renamed {s}-{n}" for s in range(4) for n in range(10)]
                                                  + [f"s{s}-{n}" for s in range(4) for n in range(10)])
    assert all(t.doc_ids == (f"d{t.name.split('-')[1]}",) for t in tags if t.name.startswith("renamed"))
