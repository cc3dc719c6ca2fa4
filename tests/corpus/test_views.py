"""core.corpus.views and selection memory: what the Corpus map page shows, computed outside the page."""

from __future__ import annotations

from core.corpus.mapping import MapSettings
from core.corpus.selection import SelectionMemory
from core.corpus.views import MapMemo, apply_overrides, label_of


def test_map_memo_keeps_four_and_forgets_an_encoder():
    memo = MapMemo(max_entries=4)
    keys = [("h", MapSettings(encoder_name=f"enc{i % 2}", k=2 + i)) for i in range(5)]
    for i, key in enumerate(keys):
        memo[key] = i
    assert len(memo) == 4 and keys[0] not in memo and memo[keys[4]] == 4  # oldest dropped
    memo.forget_encoder("enc0")
    assert all(k[1].encoder_name == "enc1" for k in keys[1:] if k in memo) and len(memo) == 2


def test_overrides_name_fields_only_and_k_is_capped():
    base = MapSettings(encoder_name="hashing", k=10)
    out = apply_overrides(base, {"k": 500, "bogus": 1, "seed": 3}, n_docs=40)
    assert out.k == 40 and out.seed == 3 and not hasattr(out, "bogus")
    assert label_of({"A": "x", "B": "y"}, "y", "A") == "B" and label_of({"A": "x"}, "z", "A") == "A"


def test_selection_survives_a_redraw_and_clears_on_deselect():
    m = SelectionMemory()
    assert m.update(["d1"], token=(None, None)) == ["d1"]
    assert m.update([], token=(None, ("d7", "d8"))) == ["d1"]  # a search redrew the map
    assert m.update([], token=(None, ("d7", "d8"))) == ["d1"]  # and reran
    assert m.update(["d2", "d2", "d3"], token=(None, None)) == ["d2", "d3"]
    assert m.update([], token=(None, None)) == []  # an empty event from the same figure: the user deselected
    m.update(["d4"], token=(1, None))
    m.clear()
    assert m.ids == []


def test_the_webgl_maps_deselect_under_a_new_counter_clears_the_selection():
    # the corpus map's browser counts the user's selecting: an empty selection with a new counter (a click beside
    # the points, Escape, the legend hiding the selected point) is a deselect, not a redraw
    m = SelectionMemory(counter=True)
    assert m.update(["d1"], token=1) == ["d1"]
    assert m.update(["d1"], token=1) == ["d1"]  # a rerun for something else (hover, a search)
    assert m.update([], token=0) == ["d1"]  # the map mounted again (a page left and come back): nothing sent yet
    assert m.update([], token=2) == []
    assert m.update(["d2"], token=3) == ["d2"]
    m.clear()
    assert m.update(["d2"], token=3) == []  # the cleared selection, still held by the browser, is not restored


def test_map_memo_builds_a_map_once_for_sessions_that_ask_at_once():
    import threading
    import time

    memo, built, waited = MapMemo(max_entries=4), [], []
    start = threading.Barrier(8)

    def build():
        built.append(1)
        time.sleep(0.2)  # long enough that the other sessions ask while it builds
        return "the map"

    def session(out: list) -> None:
        start.wait()
        out.append(memo.obtain(("h", "settings"), build, on_wait=lambda: waited.append(1)))

    got: list = []
    threads = [threading.Thread(target=session, args=(got,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert built == [1] and got == ["the map"] * 8 and len(waited) >= 1


def test_map_memo_lets_a_failed_build_be_retried():
    memo = MapMemo()

    def broken():
        raise RuntimeError("no model")

    try:
        memo.obtain("k", broken)
    except RuntimeError:
        pass
    assert "k" not in memo and memo.obtain("k", lambda: 3) == 3


def test_a_row_selected_on_another_map_picks_no_cluster_and_each_map_has_its_table():
    from types import SimpleNamespace

    import pandas as pd

    from core.corpus.views import cluster_at_row, cluster_table_key

    def cmap(k: int, corpus_hash: str = "h"):
        return SimpleNamespace(clusters=pd.DataFrame({"cluster": range(k)}), corpus=SimpleNamespace(
            content_hash=corpus_hash), settings=MapSettings(encoder_name="hashing", k=k))

    assert cluster_at_row(cmap(8), [7]) == 7 and cluster_at_row(cmap(3), [7]) is None
    assert cluster_at_row(cmap(3), []) is None
    keys = {cluster_table_key(cmap(8)), cluster_table_key(cmap(3)), cluster_table_key(cmap(3, "other"))}
    assert len(keys) == 3 and cluster_table_key(cmap(3)) == cluster_table_key(cmap(3))


def _clusters_map():
    """A map of 4 clusters whose table lists cluster 3 first (rows follow the table, not the cluster numbers)."""
    from types import SimpleNamespace

    import pandas as pd

    return SimpleNamespace(clusters=pd.DataFrame({"cluster": [3, 0, 1, 2]}), k=4)


def test_a_links_cluster_is_highlighted_replaced_by_a_pick_and_dropped_with_it():
    """The Corpus map page's cluster link, decided over a plain dict (was session-state logic in the page)."""
    from core.corpus.views import linked_cluster

    cmap, state = _clusters_map(), {"cm_cluster_link": 2}
    assert linked_cluster(state, cmap, []) == (2, None) and state["cm_cluster_link"] == 2  # the link's, kept
    assert linked_cluster(state, cmap, []) == (2, None)  # on every rerun
    assert linked_cluster(state, cmap, [0]) == (3, None)  # row 0 shows cluster 3: a pick wins
    assert state == {"cm_cluster_link": 3, "_cm_had_rows": True}
    assert linked_cluster(state, cmap, []) == (None, None)  # the pick cleared: nothing comes back
    assert state == {"cm_cluster_link": None, "_cm_had_rows": False}
    assert linked_cluster(state, cmap, []) == (None, None)


def test_a_links_cluster_this_map_lacks_is_said_once_and_dropped():
    from core.corpus.views import linked_cluster

    state = {"cm_cluster_link": 9}
    highlight, note = linked_cluster(state, _clusters_map(), [])
    assert highlight is None and note == ("This link could not restore cluster 9: this map has clusters 0-3. The "
                                          "rest of the view is shown.")
    assert "cm_cluster_link" not in state and linked_cluster(state, _clusters_map(), []) == (None, None)
    assert linked_cluster({"cm_cluster_link": 9}, _clusters_map(), [1]) == (0, None)  # a pick: nothing to say


def test_notes_are_kept_while_their_owner_is_the_same():
    from core.ui_state import kept_notes

    state: dict = {}
    assert kept_notes(state, "_n", ("corpus", "cluster"), ["a"]) == ("a",)
    assert kept_notes(state, "_n", ("corpus", "cluster"), []) == ("a",)  # the map's own rerun says nothing new
    assert kept_notes(state, "_n", ("corpus", "cluster"), ["b"]) == ("a", "b")
    assert kept_notes(state, "_n", ("corpus", "year"), []) == ()  # the colouring changed: dropped
    assert kept_notes(state, "_n", ("corpus", "cluster"), []) == ()  # and not brought back
    assert state == {"_n": (("corpus", "cluster"), ())}
