"""Streaming a folder of text files as a user's folder comes: files that vanish while it is read, hidden files."""

from __future__ import annotations

from core.corpus.encoders import HashingEncoder
from core.corpus.stream import LargeIndexConfig, StreamReport, index_large_corpus, iter_document_chunks


def test_a_file_removed_while_the_folder_is_indexed_is_skipped_with_a_note_not_fatal(tmp_path):
    folder = tmp_path / "corp"
    folder.mkdir()
    for i in range(60):
        (folder / f"d{i:02d}.txt").write_text(f"document {i} about topic {i % 3}")
    gone = folder / "d59.txt"

    def remove_the_last_file(progress) -> None:  # the first chunk is embedded: the listing is already made
        if progress.stage == "embed" and gone.exists():
            gone.unlink()

    config = LargeIndexConfig(k=3, chunk_size=10, layout_sample=100, align_docs=0)
    lmap = index_large_corpus(folder, config, encoder=HashingEncoder(16), report=remove_the_last_file)
    assert len(lmap) == 59 and "d59.txt" not in set(lmap.ids)
    assert lmap.meta["skipped"] == 1
    assert [where for where, why in lmap.meta["issues"] if "cannot be read" in why] == ["d59.txt"]
