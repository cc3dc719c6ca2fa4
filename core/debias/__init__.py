"""Debiasing lab core: bias mechanisms as violated assumptions, propensities, loss estimators,
debiased MF learners, metrics and sweeps against the known truth (see ``docs/DEBIAS.md``).

Public entry points::

    from core.debias.data import WorldConfig, make_world                # worlds: CTAR sampler (default) or compact
    from core.debias.mechanisms import make_mechanism, MECHANISMS      # bias -> policy objects
    from core.debias.mechanisms import as_ctar_policies                # ... injected into core.ctar.sampler.sample
    from core.debias.estimators import estimate_all, ESTIMATORS        # Naive, EIB, IPS, SNIPS, DR
    from core.debias.learners import fit_learner, TrainingData, MFConfig, LEARNERS
    from core.debias.sweep import SweepConfig, run_sweep, summarize_sweep
    from core.debias.lab import LearnerConfig, run_learners             # the learner table

CLI: ``python -m core.debias sweep --mechanisms selection popularity --seeds 50 --out sweep.csv``.
"""
