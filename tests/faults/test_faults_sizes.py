"""Fault injection: impossible sizes and values, on the command line and on the pages.

Replays issue #15's probes that ended in tracebacks: ``ctar generate --n-users 1000000000``
(a 995 GiB allocation), ``--n-movies 1e9`` (7.45 GiB while validating), ``--do quality=nan``,
``--do n_match=1000`` (int8 overflow); debias sweep ``--users 1e9``, ``--users 1e5 --items 1e5``,
``--seeds 1e9`` (MemoryError); ``--set test_exact_compat=maybe`` silently read as False. Each
must end with exit status 2 and one line naming the parameter (and, for sizes, the largest
value that fits the memory budget), before anything large is allocated.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.ctar.config import CTARConfig, CTARConfigError
from core.debias.data import DebiasConfigError, WorldConfig
from core.limits import SizeError, largest_fitting, parse_bool, parse_count
from tests._text import shown

ROOT = Path(__file__).resolve().parents[2]
BUDGET = 2 << 30  # EQUALCTAR_MEMORY_BUDGET for these tests: the answers do not depend on the machine


def _cli(module: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``python -m module`` under a 3 GiB address-space limit, so a probe that still allocated
    would fail here with MemoryError instead of swapping the machine."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    out = ["--out", str(tmp_path / ("x.csv" if module == "core.debias" else "out"))]
    cmd = [sys.executable, "-m", module, *(["sweep"] if module == "core.debias" else ["generate"]), *out, "--quiet",
           *args]
    env = {"EQUALCTAR_MEMORY_BUDGET": str(BUDGET), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, preexec_fn=limit)


@pytest.mark.parametrize("args, expected", [
    (("--n-users", "1000000000"), "the largest n_users that fits is"),
    (("--n-movies", "1e9"), "the largest n_movies that fits is"),
    (("--do", "quality=nan"), "quality must be a finite number"),
    (("--do", "n_match=1000"), "n_match must be a whole number in 0..127"),
    (("--set", "test_exact_compat=maybe"), "test_exact_compat must be true or false"),
    (("--n-users", "2.5"), "must be a whole number"),
])
def test_ctar_cli_refuses_with_a_message(args, expected, tmp_path) -> None:
    out = _cli("core.ctar", *args, tmp_path=tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    assert expected in out.stderr and "Traceback" not in out.stderr and "MemoryError" not in out.stderr


@pytest.mark.parametrize("args, expected", [
    (("--users", "1e9"), "the largest n_users that fits is"),
    (("--users", "1e5", "--items", "1e5"), "the largest n_users that fits is"),
    (("--seeds", "1e9"), "the number of seeds must be in 1..100,000"),
    (("--seeds", "1000000000"), "the number of seeds must be in 1..100,000"),
])
def test_debias_cli_refuses_with_a_message(args, expected, tmp_path) -> None:
    out = _cli("core.debias", *args, tmp_path=tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    assert expected in out.stderr and "Traceback" not in out.stderr


def test_the_largest_size_named_really_is_the_largest_that_fits(monkeypatch) -> None:
    monkeypatch.setenv("EQUALCTAR_MEMORY_BUDGET", str(BUDGET))
    with pytest.raises(CTARConfigError) as info:
        CTARConfig(n_users=10**9)
    named = int(str(info.value).split("the largest n_users that fits is ")[1].split()[0].replace(",", ""))
    base = CTARConfig()
    assert base.estimate_bytes(n_users=named) <= BUDGET < base.estimate_bytes(n_users=named + 1)
    CTARConfig(n_users=named)  # accepted
    with pytest.raises(DebiasConfigError, match="the largest n_users"):
        WorldConfig(n_users=10**5, n_items=10**5)


def test_defaults_and_benchmark_sizes_still_fit(monkeypatch) -> None:
    monkeypatch.setenv("EQUALCTAR_MEMORY_BUDGET", str(BUDGET))
    CTARConfig()
    CTARConfig(n_users=10_000, n_movies=1_000)  # bench_ctar's 1e7 pairs
    WorldConfig(n_users=1_000, n_items=1_000, generator="compact")  # bench_debias' 1e6 pairs


def test_strict_parsers() -> None:
    assert parse_count("1e6", "n") == 1_000_000 and parse_count("1_000", "n") == 1000
    for bad in ("2.5", "nan", "inf", "ten", True):
        with pytest.raises(SizeError):
            parse_count(bad, "n")
    assert parse_bool("Yes", "b") is True and parse_bool("off", "b") is False
    with pytest.raises(SizeError, match="b must be true or false"):
        parse_bool("maybe", "b")
    assert largest_fitting(lambda v: v * 10, 95) == 9 and largest_fitting(lambda v: v * 10, 5) == 0


def test_ctar_page_shows_the_same_refusal(monkeypatch) -> None:
    monkeypatch.setenv("EQUALCTAR_MEMORY_BUDGET", str(BUDGET))
    at = AppTest.from_file(str(ROOT / "pages" / "ctar_generator.py"), default_timeout=120)
    at.run()
    at.number_input(key="ctar_n_users").set_value(1_000_000_000).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any('the largest "Users" that fits is' in shown(e.value) for e in at.error)  # the form's label


def test_a_memory_budget_given_as_a_share_is_refused_by_name(monkeypatch) -> None:
    """README: 'EQUALCTAR_MEMORY_BUDGET; default 80% of the available memory'. A share (0.5) was read as 0 bytes,
    so every size was refused as needing more than '0 bytes'; it is refused as a budget, naming the variable."""
    from core.limits import SizeError, memory_budget

    monkeypatch.setenv("EQUALCTAR_MEMORY_BUDGET", "0.5")
    with pytest.raises(SizeError, match="EQUALCTAR_MEMORY_BUDGET must be bytes or a size like 4G"):
        memory_budget()
    monkeypatch.setenv("EQUALCTAR_MEMORY_BUDGET", "1.5G")
    assert memory_budget() == 3 << 29
