"""The lab on the CTAR generator: CTAR worlds keep CTAR's ground truth, every bias mechanism runs
inside core.ctar.sampler.sample, estimators behave on CTAR worlds, and bad inputs are refused clearly."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.ctar.config import CTARConfig
from core.ctar.inputs import load_ctar_original, make_synthetic_inputs
from core.ctar.sampler import sample
from core.debias.__main__ import main
from core.debias.data import DebiasConfigError, WorldConfig, make_ctar_config, make_world
from core.debias.estimators import calc_error, estimate_all, ideal_loss
from core.debias.mechanisms import MECHANISMS, as_ctar_policies, default_grid, make_mechanism
from core.debias.sweep import SweepConfig, make_prediction, run_sweep, summarize_sweep

W = WorldConfig(n_users=120, n_items=150, n_tags=40, tag_effect=0.8, offset=0.5, noise_sigma=0.4, quality_sigma=0.6)
SMALL = WorldConfig(n_users=80, n_items=100, n_tags=30)
RATE = 0.1


def _ctar_config(world: WorldConfig, seed: int) -> CTARConfig:
    """Written out field by field, so a wrong mapping in make_ctar_config shows up."""
    return CTARConfig(
        n_users=world.n_users,
        n_movies=world.n_items,
        seed=seed,
        tags_per_movie=world.tags_per_item,
        liked_min=world.liked_min,
        liked_max=world.liked_max,
        quality_sigma=world.quality_sigma,
        rating_offset=world.offset,
        tag_effect=world.tag_effect,
        noise_sigma=world.noise_sigma,
        rct_users=10,
        rct_movies=5,
        test_identifiable_n=20,
        test_identifiable_pos=6,
        test_inidentifiable_n=20,
        test_inidentifiable_pos=6,
    )


def _ctar_sample(world: WorldConfig, seed: int, **policies):
    inputs = make_synthetic_inputs(
        seed=seed, n_movies=world.n_items, n_tags=world.n_tags, tags_per_movie=world.tags_per_item
    )
    return sample(_ctar_config(world, seed), inputs, **policies)


@pytest.mark.parametrize("seed", [0, 7])
def test_ctar_world_keeps_the_samples_ground_truth(seed):
    ctx = make_world(W, seed)
    s = _ctar_sample(W, seed)
    assert W.generator == "ctar" and make_ctar_config(W, seed) == _ctar_config(W, seed)
    assert ctx.rating.dtype == np.int8 and np.array_equal(ctx.rating, s.rating_full)
    assert np.array_equal(ctx.n_match, s.n_match) and np.array_equal(ctx.quality, s.quality)
    assert np.array_equal(ctx.popularity, s.catalogue.popularity) and np.all(np.diff(ctx.popularity) <= 0)
    assert np.array_equal(ctx.pop_rank, np.arange(W.n_items))
    liked, item_tags = ctx.extras["liked"], ctx.extras["item_tags"]
    assert np.array_equal(liked, s.liked) and item_tags.shape == (W.n_items, liked.shape[1])
    assert (item_tags.sum(axis=1) == W.tags_per_item).all()
    assert np.array_equal(liked.astype(int) @ item_tags.T.astype(int), ctx.n_match)  # N_um = |T_m ∩ L_u|
    assert np.array_equal(ctx.extras["ctar_sample"].rating_full, s.rating_full)


def test_worlds_differ_by_seed_and_generator_and_repeat():
    a, b = make_world(SMALL, 1), make_world(SMALL, 2)
    assert not np.array_equal(a.rating, b.rating)
    assert np.array_equal(make_world(SMALL, 1).rating, a.rating)
    assert np.array_equal(a.rng.random(5), make_world(SMALL, 1).rng.random(5))
    compact = make_world(WorldConfig(n_users=80, n_items=100, n_tags=30, generator="compact"), 1)
    assert compact.rating.shape == a.rating.shape and "ctar_sample" not in compact.extras
    assert not np.array_equal(compact.rating, a.rating)


@pytest.fixture(scope="module")
def injected():
    """Every mechanism at its strongest default strength, drawn inside CTAR's sampler through the adapter."""
    out = {}
    for name in MECHANISMS:
        mech = make_mechanism(name, default_grid(name)[-1], rate=RATE)
        pol = as_ctar_policies(mech)
        out[name] = (mech, pol, _ctar_sample(W, 3, exposure=pol, outcome=pol))
    return out


@pytest.mark.parametrize("name", MECHANISMS)
def test_every_mechanism_runs_inside_the_ctar_sampler_at_its_rate(injected, name):
    mech, pol, s = injected[name]
    p = s.propensity_rating.astype(float)
    n = p.size
    blocked = round(mech.share * W.n_items) / W.n_items if name == "positivity" else 0.0
    assert p.mean() == pytest.approx(RATE * (1 - blocked), rel=0.12)
    se = np.sqrt((p * (1 - p)).sum()) / n
    assert abs(s.observed.mean() - p.mean()) < 4 * se
    assert len(s.rating) == s.observed.sum() and s.exposure is pol and s.outcome is pol
    truth = pol.calc_truth(s)
    recorded = s.rating.rating.to_numpy()
    rows, cols = s.rating.userid.to_numpy(), s.rating.movieid.to_numpy()
    if name == "conformity":
        expected = np.rint(mech.observe(SimpleNamespace(rating=truth), s.observed))[rows, cols]
        assert np.array_equal(recorded, expected) and not np.array_equal(recorded, truth[rows, cols])
    else:
        assert np.array_equal(recorded, truth[rows, cols])


def test_prepared_truth_is_shared_by_exposure_and_outcome(injected):
    mech, pol, s = injected["confounder"]
    h_shift = pol.calc_truth(s).astype(float) - s.rating_full
    assert np.corrcoef(h_shift.ravel(), s.propensity_rating.ravel())[0, 1] > 0.2  # one hidden h drives both
    _, pol_pop, s_pop = injected["popularity"]
    lift = pol_pop.calc_truth(s_pop).astype(float) - s_pop.rating_full
    assert lift[:, :20].mean() > 0 > lift[:, -20:].mean()
    for name in ("mcar", "selection", "exposure", "position", "positivity", "conformity"):
        _, other, s_other = injected[name]
        assert np.array_equal(other.calc_truth(s_other), s_other.rating_full)
    again = as_ctar_policies(make_mechanism("confounder", default_grid("confounder")[-1], rate=RATE))
    s2 = _ctar_sample(W, 3, exposure=again, outcome=again)
    assert np.array_equal(s2.observed, s.observed) and np.array_equal(again.calc_truth(s2), pol.calc_truth(s))


def test_bare_mechanisms_work_or_are_refused_by_name():
    sel = make_mechanism("selection", 0.3, rate=RATE)
    s = _ctar_sample(SMALL, 0, exposure=sel, outcome=sel)
    assert s.observed.mean() == pytest.approx(RATE, abs=0.01)
    by_rating = [s.observed[s.rating_full == r].mean() for r in (2, 4)]
    assert by_rating[1] > 3 * by_rating[0]  # MNAR inside CTAR: high ratings observed more
    for name in ("popularity", "confounder"):
        mech = make_mechanism(name, 1.0, rate=RATE)
        with pytest.raises(DebiasConfigError, match=f"mechanism '{name}'.*as_ctar_policies"):
            _ctar_sample(SMALL, 0, exposure=mech, outcome=mech)
    with pytest.raises(DebiasConfigError, match="mechanism must be a BiasMechanism"):
        as_ctar_policies("selection")


def test_estimators_on_ctar_worlds_ips_snips_dr_unbiased_naive_biased():
    """Selection (MNAR, alpha 0.5) with the true propensities over 120 seeds: through the lab's sweep on CTAR
    worlds and with the mechanism drawn inside the CTAR sampler itself. The imputed error is the truth plus
    noise, independent of o (the sweep's "item_mean" uses each pair's own observed error, which biases DR
    on worlds this small; that is a property of the imputation, not of the world)."""
    seeds = tuple(range(120))
    cfg = SweepConfig(
        mechanisms=("selection",),
        strengths={"selection": (0.5,)},
        seeds=seeds,
        world=SMALL,
        propensity="oracle",
        imputation="oracle_noisy",
    )
    s = summarize_sweep(run_sweep(cfg)).set_index("estimator")
    inside = []
    for seed in seeds:
        pol = as_ctar_policies(make_mechanism("selection", 0.5, rate=RATE))
        smp = _ctar_sample(SMALL, seed, exposure=pol, outcome=pol)
        pred = make_prediction(smp.rating_full, np.random.default_rng([seed, 7]))
        e = calc_error(pred, smp.rating_full, "squared")
        ehat = e + np.random.default_rng([seed, 8]).normal(0.0, 0.5, e.shape)
        est = estimate_all(e, smp.observed, smp.propensity_rating.astype(float), ehat, ("Naive", "IPS", "SNIPS", "DR"))
        inside.append({k: v - float(ideal_loss(e)) for k, v in est.items()})
    errors = pd.DataFrame(inside)
    for name in ("IPS", "SNIPS", "DR"):
        assert abs(s.loc[name, "bias"]) < 3 * s.loc[name, "se"], (name, s.loc[name].to_dict())
        col = errors[name]
        assert abs(col.mean()) < 3 * col.std(ddof=1) / np.sqrt(len(col)), (name, col.mean())
    assert abs(s.loc["Naive", "bias"]) > 8 * s.loc["Naive", "se"] and abs(s.loc["Naive", "bias"]) > 0.02
    naive = errors["Naive"]
    assert abs(naive.mean()) > 8 * naive.std(ddof=1) / np.sqrt(len(naive)) and abs(naive.mean()) > 0.02


@pytest.fixture
def ctar_folder(tmp_path):
    """A tiny catalogue in CTAR's original file format (12 movies, 10 tags)."""
    rng = np.random.default_rng(0)
    rows = [(m, t, int(rng.integers(1, 50))) for m in range(12) for t in rng.choice(10, size=4, replace=False)]
    pd.DataFrame(rows, columns=["movieid", "tagid", "tagCount"]).to_csv(tmp_path / "movie_tag_ct.csv", index=False)
    pd.DataFrame({"movieid": range(12), "rating": rng.uniform(2.5, 4.5, 12)}).to_csv(
        tmp_path / "movie_rating.csv", index=False
    )
    return tmp_path


def test_real_inputs_through_the_python_api(ctar_folder):
    world = WorldConfig(n_users=30, n_items=8, n_tags=10, tags_per_item=3, liked_min=2, liked_max=4)
    from_folder = make_world(world, 0, inputs=ctar_folder)
    from_inputs = make_world(world, 0, inputs=load_ctar_original(ctar_folder))
    from_source = make_world(replace(world, source=str(ctar_folder)), 0)
    assert np.array_equal(from_folder.rating, from_inputs.rating) and np.array_equal(
        from_folder.rating, from_source.rating
    )
    pop = pd.read_csv(ctar_folder / "movie_tag_ct.csv").groupby("movieid").tagCount.sum().sort_values(ascending=False)
    assert np.array_equal(from_folder.popularity, pop.to_numpy()[:8].astype(float))
    assert "CTAR original files" in from_folder.extras["ctar_sample"].catalogue.source


def test_bad_world_inputs_name_the_parameter(ctar_folder, tmp_path):
    with pytest.raises(DebiasConfigError, match="generator must be one of"):
        WorldConfig(generator="magic")
    with pytest.raises(DebiasConfigError, match="source must be 'synthetic' or an existing folder"):
        WorldConfig(source=str(tmp_path / "missing"))
    with pytest.raises(DebiasConfigError, match="needs generator='ctar'"):
        WorldConfig(generator="compact", source=str(ctar_folder))
    with pytest.raises(DebiasConfigError, match="inputs .* need generator='ctar'"):
        make_world(WorldConfig(generator="compact"), 0, inputs=ctar_folder)
    with pytest.raises(DebiasConfigError, match="seed must be an integer >= 0"):
        make_world(SMALL, -1)
    with pytest.raises(DebiasConfigError, match="n_items=20 exceeds the 12 rated, tagged movies"):
        make_world(
            WorldConfig(n_users=10, n_items=20, n_tags=10, tags_per_item=3, liked_min=2, liked_max=4),
            0,
            inputs=ctar_folder,
        )
    with pytest.raises(DebiasConfigError, match="liked_max=25 exceeds"):
        make_world(WorldConfig(n_users=10, n_items=10, n_tags=30, tags_per_item=1, liked_min=1, liked_max=25), 0)
    with pytest.raises(DebiasConfigError, match="inputs must be a folder"):
        make_world(SMALL, 0, inputs=42)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "movie_tag_ct.csv").write_text("movieid,tagid,tagCount\n1,2,x\n")
    with pytest.raises(DebiasConfigError, match="column 'tagCount', line 2"):
        make_world(SMALL, 0, inputs=tmp_path / "bad")


@pytest.mark.parametrize("name, value", [("tag_effect", float("nan")), ("quality_sigma", float("nan")),
                                         ("offset", float("inf")), ("base_mean", float("nan"))])
def test_non_finite_world_constants_are_refused_by_the_compact_generator_too(name, value):
    # the compact generator has no CTARConfig to check them: nan used to give ratings outside 1..5
    with pytest.raises(DebiasConfigError, match=f"{name} must be a finite number"):
        WorldConfig(n_users=20, n_items=20, n_tags=20, tags_per_item=3, liked_min=2, liked_max=4,
                    generator="compact", **{name: value})


def test_cli_generator_choice(tmp_path, capsys):
    out = tmp_path / "s.csv"
    for generator in ("ctar", "compact"):
        assert (
            main(
                [
                    "sweep",
                    "--generator",
                    generator,
                    "--seeds",
                    "2",
                    "--users",
                    "40",
                    "--items",
                    "50",
                    "--out",
                    str(out),
                    "--quiet",
                ]
            )
            == 0
        )
        assert len(pd.read_csv(out)) == 4 * 5 * 2
    with pytest.raises(SystemExit):
        main(["sweep", "--generator", "magic", "--out", str(out)])
    assert "invalid choice: 'magic'" in capsys.readouterr().err
    assert main(["sweep", "--generator", "compact", "--source", str(tmp_path), "--out", str(out)]) == 2
    assert "needs generator='ctar'" in capsys.readouterr().err
