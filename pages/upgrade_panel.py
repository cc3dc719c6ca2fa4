"""The progressive corpus map for the pages: build path, background upgrade progress, tier figures.

Kept apart from :mod:`pages._lib.loaders` so the shared accessors stay small. :func:`corpus_map` starts
(or resumes) the MiniLM job of :mod:`core.corpus.upgrade` and returns a static-tier map until it
is done; :func:`show_upgrade` polls it; :func:`draw_tier_figures` shows each tier's figures.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import streamlit as st

from core.corpus.encoders import DEFAULT_MODEL, STATIC_MODEL
from core.corpus.load import Corpus
from core.corpus.views import choice_labels, describe_tiers
from core.errors import short_message
from core.text import md_escape
from pages._lib.choices import ENCODER_CHOICES, sidebar_value
from pages._lib.loaders import corpus_source, encoder, map_memo, map_settings


def progressive(encoder_name: str) -> bool:
    """Whether a map for ``encoder_name`` is first drawn with the static tier while the encoder
    embeds the corpus in the background (the packaged MiniLM; ``EQUALCTAR_PROGRESSIVE=0`` turns it off)."""
    return encoder_name == DEFAULT_MODEL and os.environ.get("EQUALCTAR_PROGRESSIVE", "1") != "0"


def _map_with_progress(corpus: Corpus, settings):
    from core.corpus.mapping import build_corpus_map, load_corpus_map

    cmap = load_corpus_map(corpus, settings)
    if cmap is None:
        bar = st.progress(0.0, text=f"Building the corpus map of {len(corpus):,} documents…")

        def report(p) -> None:
            bar.progress(p.fraction, text=f"{p.describe()} — map of {len(corpus):,} documents, encoder "
                                          f"{settings.encoder_name}")

        cmap = build_corpus_map(corpus, settings, encoder=encoder(settings.encoder_name), report=report)
        bar.empty()
    return cmap


def corpus_map():
    """The :class:`core.corpus.mapping.CorpusMap` for the sidebar's corpus and the map settings.

    Memory first, then the on-disk cache, else built here with a progress line per stage
    (done/total, rate, time left, one-time). For the packaged MiniLM (:func:`progressive`)
    the first open builds the map with the static tier and starts the MiniLM embeddings in a
    background process (:mod:`core.corpus.upgrade`); :func:`upgrade_job` then names the job,
    and once it is done the next run builds and returns the MiniLM map.
    """
    from core.corpus.mapping import load_corpus_map

    corpus, _ = corpus_source()
    settings = map_settings(corpus)
    st.session_state["map_upgrade_job"] = None
    if progressive(settings.encoder_name) and (corpus.frame_hash, settings) not in map_memo():
        if load_corpus_map(corpus, settings) is None:
            from core.corpus.encoders import static_model_ready
            from core.corpus.upgrade import ensure_upgrade

            job = ensure_upgrade(corpus, settings.encoder_name)
            if job.state != "done":  # the fastest tier built: static (made at set-up), else hashing
                st.session_state["map_upgrade_job"] = str(job.folder)
                settings = replace(settings, encoder_name=STATIC_MODEL if static_model_ready() else "hashing")
    # one build per map, shared: a session asking while another builds it waits for that one
    # (the memo, core.corpus.views.MapMemo, drops the oldest beyond its size); keyed by the corpus's frame hash, its
    # content hash when it has no columns of its own: a file whose values changed but not its texts gets its own
    # entry (the map on disk, keyed by the texts, is read back, not built again), coloured by the new values
    note = st.empty()
    cmap = map_memo().obtain((corpus.frame_hash, settings), lambda: _map_with_progress(corpus, settings),
                          on_wait=lambda: note.caption("Another visitor is building this map; it is shared, so it "
                                                       "shows here as soon as it is ready."))
    note.empty()
    return cmap


def upgrade_job():
    """The background upgrade job behind the map on show, or ``None`` when the map is final."""
    from core.corpus.upgrade import UpgradeJob

    folder = sidebar_value("map_upgrade_job", None)
    return UpgradeJob(Path(folder)) if folder else None


def show_upgrade(job) -> None:
    """The background upgrade's progress line (done/total, rate, time left), polled every 2 s
    while the job runs; when it finishes the whole page reruns and shows the MiniLM map."""
    live = job.state in ("starting", "running")

    @st.fragment(run_every=2.0 if live else None)
    def _panel() -> None:
        state, p = job.state, job.progress()
        if state == "done":
            st.rerun()
        if state == "failed":
            error = md_escape(short_message(str(job.status().get("error"))))
            st.warning(f"The MiniLM embeddings could not be computed: {error}. The static map stays; the finished "
                       "part is kept, reopen the page to retry.", icon="⚠️")
            return
        if state == "stopped":
            st.info(f"The MiniLM upgrade stopped at {p.done:,}/{p.total:,} documents; it resumes on the next open.")
            return
        st.progress(p.fraction, text=f"Upgrading this map to MiniLM in the background — {p.describe()}. "
                                     "The map switches by itself when it is done; everything stays usable meanwhile.")

    _panel()


@st.cache_data(show_spinner=False, max_entries=32)
def _tier_line(content_hash: str, tier: str, job_folder: str, n_done_bucket: int) -> str | None:
    from core.corpus.tiers import measure_from_upgrade
    from core.corpus.upgrade import UpgradeJob

    corpus, _ = corpus_source()
    q = measure_from_upgrade(corpus, UpgradeJob(Path(job_folder)), encoder(tier))
    return None if q is None else q.describe()


def tier_figures(corpus: Corpus) -> dict[str, str]:
    """Measured figures per encoder tier on this corpus (static and hashing against MiniLM),
    from the MiniLM vectors the background job has made so far; empty until there are some."""
    from core.corpus.upgrade import UpgradeJob, job_folder

    folder = job_folder(corpus.content_hash, DEFAULT_MODEL)
    if not (folder / "job.json").exists():
        return {}
    job = UpgradeJob(folder)
    p = job.progress()
    out: dict[str, str] = {}
    if p.rate is not None:
        variant = job.status().get("variant")  # which CPU variant the worker runs (core.corpus.variants)
        out[DEFAULT_MODEL] = f"{p.rate:,.1f} docs/s here (the reference)" + (f", as {variant}" if variant else "")
    bucket = min(p.done, 1024) // 256
    for tier in (STATIC_MODEL, "hashing"):
        try:
            line = _tier_line(corpus.content_hash, tier, str(folder), bucket) if bucket else None
        except (RuntimeError, ValueError, OSError) as exc:
            line = f"not measured: {exc}"
        if line:
            out[tier] = line
    return out


def draw_tier_figures() -> None:
    """Each tier's measured documents/s, neighbour recall@10 and ARI against MiniLM on this corpus."""
    try:
        corpus, _ = corpus_source()
        figures = tier_figures(corpus)
    except (ValueError, RuntimeError, OSError):
        return
    if figures:
        st.caption("Measured on this corpus: " + describe_tiers(figures, choice_labels(ENCODER_CHOICES)))
    else:
        st.caption("Tier figures (docs/s, neighbour recall@10 and k-means ARI against MiniLM) appear once MiniLM has "
                   "embedded a few hundred documents of this corpus in the background.")
