"""A share budget reads the share asked for: a float product such as 0.07 * 100 = 7.000000000000001 adds no
document."""

from core.equal.budget import make_budget, share_of
from core.equal.run import BanditRun, RunConfig
from tests.equal.crash_run import make_setup, make_space


def test_share_targets_are_not_pushed_up_by_float_rounding():
    assert [share_of(s, 100) for s in (0.07, 0.14, 0.28, 0.29, 0.57)] == [7, 14, 28, 29, 57]
    assert share_of(0.051, 100) == 6 and share_of(0.05, 11917) == 596  # a real fraction still rounds up
    assert make_budget("share", 0.07).target(100) == 7


def test_a_seven_percent_run_on_a_hundred_documents_reads_seven():
    w = make_setup(20, 20)
    space = make_space(w.ids, w.texts, w.labels, embed=w.embed)
    assert len(space) == 100
    run = BanditRun(RunConfig(policy="random", budget=0.07, seed=0), space, w.reference, w.extractor,
                    w.embed).run_until_done()
    assert run.docs_done == 7
