"""CTAR: the semi-synthetic recommender dataset generator (Lyu et al. 2022, arXiv 2202.11351).

Modules: :mod:`~core.ctar.config` (every constant, validated), :mod:`~core.ctar.inputs` (CTAR
original files, MovieLens, synthetic catalogue), :mod:`~core.ctar.mechanisms` (exposure and
outcome policies, ``PairContext``), :mod:`~core.ctar.sampler` (vectorised chunked sampler,
interventions), :mod:`~core.ctar.testsets`, :mod:`~core.ctar.graph` (pgmpy),
:mod:`~core.ctar.stats`, :mod:`~core.ctar.export`; ``python -m core.ctar generate ...``.
"""

from core.ctar.config import CTARConfig, CTARConfigError
from core.ctar.inputs import CTARInputError
from core.ctar.mechanisms import ExposurePolicy, OutcomePolicy, PairContext
from core.ctar.sampler import CTARSample, Intervention, intervene, sample

__all__ = ["CTARConfig", "CTARConfigError", "CTARInputError", "CTARSample", "ExposurePolicy", "Intervention",
           "OutcomePolicy", "PairContext", "intervene", "sample"]
