"""core.equal.tune: a grid cell replays bit for bit as its own BanditRun; cancel keeps the work; refusals name the
setting; a grid not cached asks before it spends."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_run import make_setup, make_space  # noqa: E402

from core.equal.baselines import BaselineCache  # noqa: E402
from core.equal.run import BanditRun, RunConfig  # noqa: E402
from core.equal.tune import (  # noqa: E402
    TABLE_COLUMNS,
    TUNABLES,
    TuneConfigError,
    TuneGrid,
    TuneJob,
    TuneSpendError,
    parse_axis,
    rank_cells,
    summarize_tune,
)


class CountingExtractor:
    def __init__(self, inner) -> None:
        self.inner, self.docs, self.name = inner, 0, inner.name

    def extract(self, docs):
        self.docs += len(docs)
        return self.inner.extract(docs)


@pytest.fixture(scope="module")
def setup():
    ids, texts, labels, ref, ext, embed, config = make_setup()
    return ids, texts, labels, ref, ext, embed, config, embed(texts)


def _finish(job):
    polls = 0
    while job.running:
        job.advance(budget_s=0.0)
        polls += 1
    return polls


def _grid(config, **kw):
    axes = kw.pop("axes", (("batch_arms", (1, 2)), ("credit", ("document", "pull"))))
    return TuneGrid(axes, seeds=kw.pop("seeds", (3, 4)), base=replace(config, **kw))


def test_each_cell_equals_its_own_bandit_run_bit_for_bit(setup):
    ids, texts, labels, ref, ext, embed, config, doc_emb = setup
    grid = _grid(config)
    job = TuneJob(grid, make_space(ids, texts, labels, doc_emb=doc_emb), ext, embed, ref, spend=True)
    polls = _finish(job)
    assert job.status == "done" and polls > len(grid.cells())  # worked in many slices
    table = job.result
    assert list(table.columns) == [*TABLE_COLUMNS, "batch_arms", "credit"]  # then each varied setting
    assert set(table["cell"]) == {c.label for c in grid.cells()} | {"random", "avg-sim"}
    for cell in grid.cells():
        for seed in grid.seeds_for(cell.config):  # all of them, or the first where the cell is deterministic
            live = BanditRun(replace(cell.config, seed=seed), make_space(ids, texts, labels, doc_emb=doc_emb), ref,
                             ext, embed).run_until_done().rounds_frame()
            got = table[(table["cell"] == cell.label) & (table["seed"] == seed)]
            assert got["calls"].tolist() == live["calls_cum"].tolist()
            assert got["coverage"].tolist() == live["coverage"].tolist()  # exact floats, not approximately
            assert got["reward"].tolist() == live["reward_cum"].tolist()


def test_cells_differ_and_baselines_share_the_axis(setup):
    ids, texts, labels, ref, ext, embed, config, doc_emb = setup
    job = TuneJob(_grid(config, axes=(("credit", ("document", "pull")),)), make_space(ids, texts, labels,
                                                                                       doc_emb=doc_emb),
                  ext, embed, ref, spend=True, on_task={i for i in ids if i.startswith("json.")})
    _finish(job)
    table = job.result
    finals = table.sort_values("round").groupby(["cell", "seed"]).tail(1)
    assert finals.groupby("cell")["calls"].max().nunique() == 1  # one budget: every curve ends at the same calls
    share = table.loc[table["kind"] == "setting", "on_task_share"]
    assert share.between(0, 1).all() and share.max() > 0  # the reference asks about json: some pairs are on-task
    summary = summarize_tune(table)
    assert set(summary.columns) == {"cell", "kind", "calls", "mean", "lo", "hi", "seeds"}
    ok = summary.dropna(subset=["mean"])
    assert (ok["lo"] <= ok["mean"] + 1e-12).all() and (ok["mean"] <= ok["hi"] + 1e-12).all()
    ranked = rank_cells(table)
    assert ranked["coverage"].is_monotonic_decreasing and len(ranked) == 4
    # the baselines in words, as the chart's legend says them (the page's "Every cell" table read random, avg-sim)
    assert set(ranked.loc[ranked["kind"] == "baseline", "cell"]) == {"Random (baseline)", "Avg-sim (baseline)"}


def test_cancel_keeps_runs_and_cache_and_the_next_job_spends_nothing(setup):
    ids, texts, labels, ref, ext, embed, config, doc_emb = setup
    cache, counting = BaselineCache(), CountingExtractor(ext)
    space = make_space(ids, texts, labels, doc_emb=doc_emb)
    job = TuneJob(_grid(config), space, counting, embed, ref, cache=cache, spend=True)
    while job.running and job.progress().stage != "Replaying the grid":
        job.advance(budget_s=0.0)
    job.advance(budget_s=0.0)
    job.cancel()
    assert job.status == "cancelled" and len(job.frames) >= 1 and "Cancelled" in job.cancel_note()
    assert not job.table().empty and counting.docs == len(ids)
    again = TuneJob(_grid(config), space, counting, embed, ref, cache=cache)  # everything cached: no spend needed
    assert again.calls_needed == 0
    _finish(again)
    assert again.status == "done" and counting.docs == len(ids)  # nothing extracted twice


def test_a_grid_not_cached_asks_before_spending(setup):
    ids, texts, labels, ref, ext, embed, config, doc_emb = setup
    counting = CountingExtractor(ext)
    cache = BaselineCache()
    with pytest.raises(TuneSpendError) as info:
        TuneJob(_grid(config), make_space(ids, texts, labels, doc_emb=doc_emb), counting, embed, ref, cache=cache)
    assert info.value.calls == len(ids) and f"{len(ids):,} extraction calls" in str(info.value)
    assert counting.docs == 0  # nothing spent while asking


class CachedOnly(CountingExtractor):
    """An LLM-like extractor whose own on-disk cache holds some documents (they cost nothing)."""

    def __init__(self, inner, cached_texts) -> None:
        super().__init__(inner)
        self.cached = set(cached_texts)

    def is_cached(self, text):
        return text in self.cached


def test_llm_documents_in_its_own_cache_are_not_counted_as_spend(setup):
    ids, texts, labels, ref, ext, embed, config, doc_emb = setup
    llm = CachedOnly(ext, texts[:50])
    with pytest.raises(TuneSpendError) as info:
        TuneJob(_grid(config), make_space(ids, texts, labels, doc_emb=doc_emb), llm, embed, ref)
    assert info.value.calls == len(ids) - 50


def test_a_new_process_replays_the_extractions_a_grid_kept_on_disk_and_a_changed_setting_misses(setup, tmp_path):
    """What the lab extracts is kept on disk (the page's ``common.baseline_extractor``): a new process (a new cache
    object over the same file, nothing in memory) replays the grid without one extraction call."""
    from core.equal.extract.cache import CachedExtractor, ExtractionCache
    from core.equal.extract.rules import RuleExtractor
    from core.equal.tune import calls_to_spend

    ids, texts, labels, ref, ext, embed, config, doc_emb = setup
    space = make_space(ids, texts, labels, doc_emb=doc_emb)

    def kept_rules(rules):
        counting = CountingExtractor(rules)
        return counting, CachedExtractor(counting, rules.version, ExtractionCache(tmp_path / "extractions.sqlite"))

    counting, extractor = kept_rules(RuleExtractor())
    first = TuneJob(_grid(config), space, extractor, embed, ref, cache=BaselineCache(), spend=True)
    _finish(first)
    assert first.status == "done" and counting.docs == len(ids)
    counting, extractor = kept_rules(RuleExtractor())  # the next process
    again = TuneJob(_grid(config), space, extractor, embed, ref, cache=BaselineCache())  # spends nothing
    assert again.calls_needed == 0
    _finish(again)
    assert again.status == "done" and counting.docs == 0
    pd.testing.assert_frame_equal(again.table(), first.table())
    counting, changed = kept_rules(RuleExtractor(max_pairs_per_doc=1))  # another limit: another rule version
    assert calls_to_spend(space, changed, BaselineCache()) == len(ids)
    with pytest.raises(TuneSpendError):
        TuneJob(_grid(config), space, changed, embed, ref, cache=BaselineCache())


@pytest.mark.parametrize(("axes", "base", "named"), [
    ((), {}, "the grid is empty"),
    ((("batch_arms", ()),), {}, "Arms per round: pick at least one value"),
    ((("docs_per_pull", (0, 10)),), {}, "Documents per pull = 0"),
    ((("neighbour_weight", (2.0,)),), {}, "Neighbour weight = 2.0"),
    ((("wobble", (1,)),), {}, "unknown setting 'wobble'"),
    ((("budget", (0.1,)),), {"budget_kind": "cost"}, "budget kind 'cost'"),
])
def test_bad_grids_are_refused_naming_the_setting(setup, axes, base, named):
    config = setup[6]
    with pytest.raises(TuneConfigError, match=named.replace("(", r"\(").replace(")", r"\)")):
        TuneGrid(axes, seeds=(0,), base=replace(config, **base))


def test_more_arms_than_clusters_is_refused_before_any_work(setup):
    ids, texts, labels, ref, ext, embed, config, doc_emb = setup
    counting = CountingExtractor(ext)
    with pytest.raises(TuneConfigError, match=r"Arms per round = 8 is more than the map's 5 clusters"):
        TuneJob(_grid(config, axes=(("batch_arms", (2, 8)),)), make_space(ids, texts, labels, doc_emb=doc_emb),
                counting, embed, ref, spend=True)
    assert counting.docs == 0


def test_a_similarity_setting_without_document_embeddings_is_refused(setup):
    ids, texts, labels, ref, ext, embed, config, _ = setup
    with pytest.raises(TuneConfigError, match="doc_order='similar'"):
        TuneJob(_grid(config, axes=(("doc_order", ("random", "similar")),), unplayed="mean"),
                make_space(ids, texts, labels), ext, embed, ref, spend=True)


def test_parse_axis_reads_the_command_line_form():
    assert parse_axis("B=1,3, 5") == ("batch_arms", (1, 3, 5))
    assert parse_axis("credit=pull,document") == ("credit", ("pull", "document"))
    with pytest.raises(TuneConfigError, match=r"Documents per pull: .three. must be a whole number"):
        parse_axis("D=three")
    with pytest.raises(TuneConfigError, match="SETTING=VALUE"):
        parse_axis("batch_arms")


def test_summary_reads_each_seed_as_a_step_function():
    table = pd.DataFrame({"cell": "c", "kind": "setting", "policy": "equal", "seed": [0, 0, 1, 1], "round": [0, 1] * 2,
                          "calls": [10, 20, 10, 20], "coverage": [0.2, 0.4, 0.4, 0.6], "reward": 0.0, "pairs": 1,
                          "on_task_share": np.nan})
    s = summarize_tune(table, points=3)  # calls 0, 10, 20
    assert s["calls"].tolist() == [0, 10, 20]
    assert np.isnan(s["mean"].iloc[0]) and s["seeds"].tolist() == [0, 2, 2]
    assert s["mean"].iloc[1:].round(9).tolist() == [0.3, 0.5]
    assert s["lo"].iloc[2] == 0.4 and s["hi"].iloc[2] == 0.6


def test_an_llm_extractor_replays_only_its_cache_until_the_spend_is_confirmed(setup, tmp_path):
    from core.equal.extract.cache import ExtractionCache
    from core.equal.extract.openai_compat import OpenAIChatExtractor
    from core.settings import LLMSettings
    from tests.equal.fake_llm_server import FakeLLMServer

    ids, texts, labels, ref, _, embed, config, doc_emb = setup
    space = make_space(ids, texts, labels, doc_emb=doc_emb)
    with FakeLLMServer() as server:
        llm = OpenAIChatExtractor(LLMSettings(base_url=server.base_url, model="fake-model", api_key="k"),
                                  cache=ExtractionCache(tmp_path / "x.sqlite"), timeout=5.0)
        llm.extract(list(zip(ids[:40], texts[:40])))  # paid earlier: in the extractor's own cache
        paid = len(server.chat_requests)
        with pytest.raises(TuneSpendError) as info:
            TuneJob(_grid(config), space, llm, embed, ref)
        assert info.value.calls == len(ids) - 40 and len(server.chat_requests) == paid  # asked, spent nothing
        job = TuneJob(_grid(config), space, llm, embed, ref, spend=True)
        _finish(job)
        assert job.status == "done" and len(server.chat_requests) == paid + len(ids) - 40  # the cached 40 are free


def _counting_runs(monkeypatch) -> list[tuple[str, int]]:
    """``(policy, seed)`` of every run a grid job replays (the settings' check builds its runs unnamed)."""
    import core.equal.tune as tune

    played: list[tuple[str, int]] = []

    class Counting(tune.BanditRun):
        def __init__(self, cfg, *args, **kw) -> None:
            if kw.get("name"):
                played.append((cfg.policy, cfg.seed))
            super().__init__(cfg, *args, **kw)

    monkeypatch.setattr(tune, "BanditRun", Counting)
    return played


def test_a_deterministic_cell_plays_once_and_shows_as_one_run(setup, monkeypatch):
    """A setting that ignores its seed (``RunConfig.deterministic``) gives the same run for every seed: the grid plays
    it once, with the first seed, and its table holds that one run (it held a copy per seed, counted as runs);
    Random still plays every seed."""
    ids, texts, labels, ref, ext, embed, config, doc_emb = setup
    played = _counting_runs(monkeypatch)
    grid = _grid(replace(config, policy="learned", order_explore=0.0), axes=(("batch_arms", (1, 2)),), seeds=(3, 4, 5))
    assert all(cell.config.deterministic for cell in grid.cells())
    job = TuneJob(grid, make_space(ids, texts, labels, doc_emb=doc_emb), ext, embed, ref, spend=True)
    _finish(job)
    table = job.result
    assert sorted(s for p, s in played if p == "random") == [3, 4, 5]
    assert [p for p, _ in played].count("learned") == len(grid.cells())  # once per cell, not per seed
    assert len(played) == grid.n_runs == job.progress().total == 2 + 3 + 1  # 2 cells, Random's 3 seeds, Avg-sim
    for cell in grid.cells():
        assert table.loc[table["cell"] == cell.label, "seed"].unique().tolist() == [3]
    ranked = rank_cells(table).set_index("cell")
    assert ranked["runs"].to_dict() == {**{c.label: 1 for c in grid.cells()}, "Random (baseline)": 3,
                                        "Avg-sim (baseline)": 1}


def test_the_default_grid_plays_fewer_runs_and_gives_the_same_means(setup, monkeypatch):
    """The lab's default grid (arms per round x documents per pull, 3 seeds, its default policy) is deterministic
    in every cell: it played 54 runs and now plays 20 (16 cells once, Random's 3 seeds, Avg-sim once), and every
    cell's mean curve and final mean are those of all its seeds played in full."""
    from core.equal.policies import POLICIES
    from core.equal.tune import TUNE_SHARE, axes_from, run_frame

    ids, texts, labels, ref, ext, embed, config, doc_emb = setup
    vary = ["batch_arms", "docs_per_pull"]  # the page's defaults (pages/tuning_lab.py): four values of each
    grid = TuneGrid(axes_from(vary, {n: TUNABLES[n].choices[:4] for n in vary}), seeds=(0, 1, 2),
                    base=RunConfig(policy=POLICIES[0], budget=TUNE_SHARE))
    assert len(grid.cells()) == 16 and all(c.config.deterministic for c in grid.cells())
    assert grid.n_runs == 20 < (16 + 2) * 3
    space = make_space(ids, texts, labels, doc_emb=doc_emb)
    played = _counting_runs(monkeypatch)
    job = TuneJob(grid, space, ext, embed, ref, spend=True)
    _finish(job)
    assert len(played) == job.progress().total == 20
    every_seed = pd.concat([run_frame(BanditRun(replace(c.config, seed=s), space, ref, ext, embed).run_until_done(),
                                      c.label, "setting", None) for c in grid.cells() for s in grid.seeds])
    new = job.result[job.result["kind"] == "setting"]
    got, want = rank_cells(new).set_index("cell"), rank_cells(every_seed).set_index("cell")
    # the same up to the last bit a mean of three equal floats may round ((x + x + x) / 3 need not be x)
    assert got["coverage"].to_numpy() == pytest.approx(want.loc[got.index, "coverage"].to_numpy(), rel=1e-12, abs=0)
    curves = summarize_tune(new).merge(summarize_tune(every_seed), on=["cell", "kind", "calls"])
    assert len(curves) == len(summarize_tune(new)) == len(summarize_tune(every_seed))
    np.testing.assert_allclose(curves["mean_x"], curves["mean_y"], rtol=1e-12, atol=0)


def test_cell_labels_speak_the_words_of_the_page_controls():
    # they read "B=3 · D=1": letters the lab's controls ("Arms per round", "Documents per pull") only define
    grid = TuneGrid((("batch_arms", (1, 3)), ("docs_per_pull", (1, 10))), seeds=(0,))
    assert [c.label for c in grid.cells()] == ["1 arm per round · 1 doc per pull", "1 arm per round · 10 docs per pull",
                                               "3 arms per round · 1 doc per pull",
                                               "3 arms per round · 10 docs per pull"]
    for name, tunable in TUNABLES.items():
        for value in tunable.choices:
            text = tunable.cell_text(value)
            assert "=" not in text and "_" not in text and text.split()[0] not in ("B", "D"), (name, text)
    assert TUNABLES["budget"].cell_text(0.05) == "budget 5%"
    assert TUNABLES["budget"].cell_text(100.0, "calls") == "budget 100 calls"
    assert TUNABLES["credit"].cell_text("pull") == "credit per pull"


def test_a_setting_chip_is_short_words_with_the_full_label_beside_it():
    """The lab's "Settings to vary" chips showed the full labels, cut to "Arms per ro…" at 1440 px: a chip says the
    label's words alone, short, and never a paper letter."""
    from core.equal.tune import TUNABLES

    for tunable in TUNABLES.values():
        assert len(tunable.chip) <= 22 and "(" not in tunable.chip, tunable.chip
    assert TUNABLES["docs_per_pull"].chip == "Documents per pull"  # the label's words, without "(D)"


def test_a_cell_played_once_shows_no_spread_not_a_zero_one():
    """A deterministic cell plays one run, so it has no spread over seeds: the table said "± 0.000", as if three seeds
    had agreed. A cell with several runs keeps its standard deviation."""
    rows = [("a", "setting", 0, 0.5), ("b", "setting", 0, 0.2), ("b", "setting", 1, 0.4)]
    table = pd.DataFrame([dict(cell=c, kind=k, seed=s, round=1, coverage=v, calls=10, on_task_share=np.nan)
                          for c, k, s, v in rows])
    ranked = rank_cells(table).set_index("cell")
    assert ranked.loc["a", "runs"] == 1 and np.isnan(ranked.loc["a", "coverage_sd"])
    assert ranked.loc["a", "spread"] == "one run"
    assert ranked.loc["b", "spread"] == f"± {np.std([0.2, 0.4], ddof=1):.3f}" == "± 0.141"


def test_the_grid_note_says_which_runs_play_once_and_which_play_every_seed_without_contradicting_itself():
    """Seen in chromium on the default grid: 'Each plays the 3 seeds, but a deterministic one plays once: every
    setting cell here, and Avg-sim' (each, then all but Random). The note now names who plays once and who plays
    every seed."""
    from core.equal.tune import TuneGrid, grid_size_note

    note = grid_size_note(TuneGrid((("batch_arms", (1, 3)), ("docs_per_pull", (3, 5))), seeds=(0, 1, 2)))
    assert "Each plays" not in note, note
    assert note.endswith("Every setting cell here and Avg-sim play once (their seeds would replay one run); Random "
                         "plays the 3 seeds."), note
    mixed = grid_size_note(TuneGrid((("policy", ("thompson", "equal")),), seeds=(0, 1, 2)))
    assert "1 of the 2 setting cells and Avg-sim play once" in mixed and "the other cells and Random play" in mixed
