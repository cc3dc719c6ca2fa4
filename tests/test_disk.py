"""core.disk.write_atomic under concurrency: each call writes its own temporary file."""

from __future__ import annotations

import threading
from pathlib import Path

from core.disk import write_atomic


def test_two_threads_writing_one_file_never_mix_or_lose_a_write(tmp_path: Path) -> None:
    """Two Streamlit sessions are threads of one process: with a temporary name per process, the second writer
    truncated the first one's file, the first renamed a mix into place and the second failed with
    FileNotFoundError. Each call now has its own temporary file; the target always holds one writer's whole text."""
    target = tmp_path / "cache.npy"
    b_wrote, a_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    seen_after_a: list[str] = []

    def write_a(tmp: Path) -> None:
        with open(tmp, "w") as fh:
            fh.write("A-part1 ")
            fh.flush()
            assert b_wrote.wait(10)  # B opens and writes its first part while A's file is open
            fh.write("A-part2")

    def write_b(tmp: Path) -> None:
        with open(tmp, "w") as fh:
            fh.write("B-part1 ")
            fh.flush()
            b_wrote.set()
            assert a_done.wait(10)  # A renames its file into place while B's is still open
            fh.write("B-part2")

    def run(write, after=None) -> None:
        try:
            write_atomic(target, write, "the test cache")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            if after is not None:
                seen_after_a.append(target.read_text() if target.exists() else "")
                after.set()

    a = threading.Thread(target=run, args=(write_a, a_done))
    b = threading.Thread(target=run, args=(write_b,))
    a.start()
    b.start()
    a.join(20)
    b.join(20)
    b_wrote.set()
    assert errors == []
    assert seen_after_a == ["A-part1 A-part2"] and target.read_text() == "B-part1 B-part2"
    assert [p.name for p in tmp_path.iterdir()] == ["cache.npy"]  # no temporary file left
