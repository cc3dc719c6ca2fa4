"""Engines for the heavy, embarrassingly parallel steps: embedding a corpus and extracting QA pairs from all of it.

``local`` (the default) runs them in this process, as the app always has; ``ray`` runs the
same core functions (:func:`core.corpus.encoders.load_encoder` encoders, the extractors of
:mod:`core.equal.extract`) on a Ray cluster: a local one started on demand with two CPUs,
or an existing one (``RAY_ADDRESS`` / ``--address``). Both engines write the same outputs:
the embedding cache the app reads (:func:`core.corpus.embed.corpus_embedding_path`) and a
:class:`~core.engine.sink.PairSink` of extracted pairs. Ray is an optional install
(``pip install -r requirements-ray.txt``); nothing here imports it until the ray engine runs.
"""

from __future__ import annotations

ENGINES: tuple[str, ...] = ("local", "ray")


def check_engine(name: str) -> str:
    """``name`` normalised, or ``ValueError`` naming the choices."""
    key = str(name).strip().lower()
    if key not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {name!r}")
    return key
