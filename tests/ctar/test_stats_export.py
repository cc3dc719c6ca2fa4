from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import zipfile

import pandas as pd
import pytest

from core.ctar.__main__ import main
from core.ctar.export import export_sample, zip_bytes
from core.ctar.stats import RELEASED_CTAR, compare_statistics, released_statistics, summarize, summarize_truth
from core.ctar.tables import TRAIN_FILES, load_release
from tests.ctar.conftest import ROOT


def _value(df, item):
    return float(df.loc[df["item"] == item, "value"].iloc[0])


def test_summarize_counts_a_sample(small_sample):
    s = small_sample
    df = summarize(s.tables())
    assert _value(df, "ratings") == len(s.rating)
    assert _value(df, "density") == pytest.approx(len(s.rating) / (400 * 300))
    assert sum(_value(df, f"ratings = {y}") for y in range(1, 6)) == len(s.rating)
    assert _value(df, "ObsTag pairs") == len(s.obstag_pairs)
    assert _value(df, 'ObsTag "-1" pairs') == int((s.obstag_pairs["n_match"] == 0).sum())
    assert _value(df, "RCTTag pairs") == 400
    deciles = [_value(df, f"ratings, decile {d}") for d in range(1, 11)]
    assert sum(deciles) == len(s.rating) and deciles[0] > deciles[-1]
    assert _value(df, "Test II rows") == len(s.tests["test_2"])
    truth = summarize_truth(s)
    assert truth["reasons_per_pair"]["pairs"].sum() == 400 * 300
    assert truth["liked_per_user"]["users"].sum() == 400


def test_summarize_counts_tag_pairs_by_user_and_movie(small_sample):
    """A pair's rows need not be adjacent, and a "-1" row marks the pair untagged; the count is vectorised now (a
    Python lambda per pair took 35 s on the 1e8 output of README's `core.ctar stats out/ctar1e8`)."""
    rct = pd.DataFrame({"userid": [0, 1, 0, 0, 1, 2], "movieid": [0, 0, 1, 0, 1, 0], "tagid": [5, 3, -1, 7, -1, -1]})
    df = summarize(dataclasses.replace(small_sample.tables(), rcttag=rct))
    assert _value(df, "RCTTag rows") == 6 and _value(df, "RCTTag pairs") == 5  # (0, 0) holds two rows
    assert _value(df, 'RCTTag "-1" pairs') == 3 and _value(df, "RCTTag users") == 3
    assert _value(df, "RCTTag tags per tagged pair") == 1.5  # 3 tag rows over the 2 tagged pairs


def test_compare_puts_columns_side_by_side(small_sample):
    both = compare_statistics({"sample": summarize(small_sample.tables()), "released": released_statistics()})
    row = both[both["item"] == "ratings"]
    assert row["released"].iloc[0] == 19897 and row["sample"].iloc[0] == len(small_sample.rating)


def test_release_statistics_equal_the_documented_figures(data_dir):
    df = summarize(load_release(data_dir / "release"))
    for item in ("users", "movies", "tags", "ratings", "ratings = 1", "ratings = 5", "ObsTag rows", "ObsTag pairs",
                 'ObsTag "-1" pairs', "RCTTag rows", "RCTTag pairs", 'RCTTag "-1" pairs', "Test I rows",
                 "Test II rows", "Test III rows", "Test all rows"):
        assert _value(df, item) == pytest.approx(RELEASED_CTAR[item]), item


def test_export_csv_has_ctars_layout_and_reads_back(small_sample, tmp_path):
    paths = export_sample(small_sample, tmp_path, "csv")
    assert (tmp_path / "truth" / "liked.csv").is_file() and (tmp_path / "config.json").is_file()
    for name, cols in TRAIN_FILES.items():
        assert pd.read_csv(tmp_path / "train" / f"{name}.csv").columns.tolist() == list(cols)
    back = load_release(tmp_path)
    assert back.rating.equals(small_sample.rating)
    assert back.tests["test_2"].equals(small_sample.tests["test_2"])
    # ground truth lives only under truth/
    assert {p.parent.name for p in paths if p.stem in ("liked", "movies", "tags", "forgotten")} == {"truth"}
    meta = json.loads((tmp_path / "config.json").read_text())
    assert meta["config"]["n_users"] == 400


def test_export_matches_the_release_columns(small_sample, tmp_path, data_dir):
    export_sample(small_sample, tmp_path, "csv")
    for sub, name in (("train", "rating"), ("train", "obstag"), ("train", "rcttag"), ("train", "movie"),
                      ("test", "test_1"), ("test", "test")):
        ours = pd.read_csv(tmp_path / sub / f"{name}.csv", nrows=3).columns.tolist()
        theirs = pd.read_csv(data_dir / "release" / sub / f"{name}.csv", nrows=3).columns.tolist()
        assert ours == theirs


def test_parquet_export_keeps_every_pair_and_zip(small_sample, tmp_path):
    export_sample(small_sample, tmp_path, "parquet")
    pairs = pd.read_parquet(tmp_path / "truth" / "pairs.parquet")
    assert len(pairs) == 400 * 300 and pairs["observed"].sum() == len(small_sample.rating)
    assert pd.read_parquet(tmp_path / "train" / "obstag.parquet").equals(small_sample.obstag)
    z = zipfile.ZipFile(io.BytesIO(zip_bytes(small_sample, "csv")))
    assert "ctar/train/rating.csv" in z.namelist() and "ctar/truth/tags.csv" in z.namelist()
    with pytest.raises(ValueError, match="fmt"):
        export_sample(small_sample, tmp_path, "xlsx")


def test_cli_generates_and_refuses_bad_parameters(tmp_path, capsys):
    rc = main(["generate", "--out", str(tmp_path / "o"), "--n-users", "120", "--n-movies", "150", "--quiet",
               "--set", "rct_users=10", "--set", "test_identifiable_n=100", "--set", "test_identifiable_pos=30",
               "--set", "test_inidentifiable_n=100", "--set", "test_inidentifiable_pos=30", "--do", "exposure=uniform"])
    assert rc == 0
    assert (tmp_path / "o" / "train" / "rating.csv").is_file()
    assert "do(exposure = uniform)" in json.loads((tmp_path / "o" / "config.json").read_text())["intervention"]
    assert main(["generate", "--out", str(tmp_path / "x"), "--set", "rating_rate=0.9"]) == 2
    assert "rating_rate" in capsys.readouterr().err
    assert main(["generate", "--out", str(tmp_path / "x"), "--set", "nonsense=1"]) == 2
    assert main(["generate", "--out", str(tmp_path / "x"), "--inputs", str(tmp_path / "missing")]) == 2


def test_cli_runs_as_a_module_with_progress(tmp_path):
    out = subprocess.run([sys.executable, "-m", "core.ctar", "generate", "--out", str(tmp_path), "--n-users", "200",
                          "--set", "rct_users=20"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "%" in out.stderr and "sampled 200,000 pairs" in out.stdout


@pytest.mark.parametrize("budget", ["lots", "1.2.3G", "4X"])
def test_cli_names_a_malformed_memory_budget(budget, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EQUALCTAR_MEMORY_BUDGET", budget)
    assert main(["generate", "--out", str(tmp_path / "o"), "--n-users", "120", "--n-movies", "100", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"EQUALCTAR_MEMORY_BUDGET must be bytes or a size like 4G or 1.5G, got {budget!r}" in err


def test_cli_ray_errors_are_messages_and_workers_are_checked_when_parsed(tmp_path, capsys, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # nothing listens there
    args = ["generate", "--n-users", "120", "--n-movies", "100", "--format", "partitioned", "--engine", "ray",
            "--quiet", "--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error: --engine ray: Could not reach the Ray cluster at '127.0.0.1:1'" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--workers", "0"])
    assert exit_.value.code == 2 and "workers must be >= 1, got 0" in capsys.readouterr().err


def test_cli_stats_reads_the_output_of_format_both_and_parquet(tmp_path, capsys):
    out = tmp_path / "both"
    assert main(["generate", "--n-users", "120", "--n-movies", "100", "--format", "both", "--quiet",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    printed = {}
    for folder in (out, out / "csv", out / "parquet"):  # the README's example: stats on the --out of --format both
        assert main(["stats", str(folder)]) == 0, capsys.readouterr().err
        printed[folder.name] = capsys.readouterr().out
    assert "ratings" in printed["both"] and printed["both"] == printed["csv"] == printed["parquet"]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "both"])
def test_cli_refuses_an_in_memory_format_into_a_partitioned_output(fmt, tmp_path, capsys):
    out = tmp_path / "o"
    small = ["--n-movies", "100", "--quiet", "--out", str(out)]
    assert main(["generate", "--n-users", "300", "--format", "partitioned", *small]) == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    capsys.readouterr()
    assert main(["generate", "--n-users", "400", "--format", fmt, *small]) == 2
    err = capsys.readouterr().err
    assert f"--out {out} holds a partitioned (streamed) CTAR output" in err and "Traceback" not in err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # nothing written beside the stream


def test_cli_stats_prints_counts_with_separators_and_shares_as_percentages(tmp_path, capsys, monkeypatch):
    """A 1e8-pair folder printed '1.000000e+08' ratings (a float column); counts read 100,000,000 now."""
    import core.ctar.stats as stats

    out = tmp_path / "o"
    assert main(["generate", "--n-users", "120", "--n-movies", "100", "--quiet", "--out", str(out)]) == 0
    real = stats.summarize

    def at_scale(tables):  # the real table, with the ratings and density of CTAR's 1e8-pair example
        df = real(tables)
        df.loc[df["item"] == "ratings", "value"] = 1e8
        df.loc[df["item"] == "ratings per movie: max", "value"] = 123_456_789
        df.loc[df["item"] == "density", "value"] = 0.019897
        return df

    monkeypatch.setattr(stats, "summarize", at_scale)
    capsys.readouterr()
    assert main(["stats", str(out)]) == 0
    printed = capsys.readouterr().out
    lines = {" ".join(line.split()[:-1]): line.split()[-1] for line in printed.splitlines()[1:]}
    assert "e+" not in printed and "e-" not in printed
    assert lines["ratings ratings"] == "100,000,000" and lines["ratings ratings per movie: max"] == "123,456,789"
    assert lines["ratings density"] == "1.99%" and lines["size users"] == "120"
    assert lines["ratings mean rating"].count(".") == 1 and len(lines["ratings mean rating"].split(".")[1]) == 2


def test_format_statistics_keeps_the_rows_and_blanks_what_one_side_lacks(small_sample):
    from core.ctar.stats import format_statistics

    table = compare_statistics({"this sample": summarize(small_sample.tables()), "documented": released_statistics()})
    text = format_statistics(table)
    assert list(text.columns) == list(table.columns) and len(text) == len(table)
    mean = text.loc[text["item"] == "mean rating"].iloc[0]
    assert mean["documented"] == "" and mean["this sample"] != ""  # the release documents no mean rating
    assert text.loc[text["item"] == "ratings", "documented"].iloc[0] == "19,897"
    assert text.loc[text["item"] == 'RCTTag "-1" share', "documented"].iloc[0] == "24.6%"


def test_the_pages_statistics_read_as_the_command_line_prints_them(small_sample):
    from core.ctar.stats import format_statistics, style_statistics

    table = compare_statistics({"this sample": summarize(small_sample.tables()), "documented": released_statistics()})
    table.loc[table["item"] == "ratings", "this sample"] = 1e8
    styler = style_statistics(table)
    assert styler.data is table  # the numbers stay underneath (the page's columns sort by value)
    shown = styler.to_string(delimiter="\t").splitlines()[1:]
    want = format_statistics(table)
    assert [line.split("\t")[-2:] for line in shown] == want[["this sample", "documented"]].values.tolist()
    assert "100,000,000" in styler.to_string()
