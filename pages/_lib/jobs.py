"""The one polling panel for a long step: Start and Cancel, a slice of work per refresh, progress, the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import streamlit as st

from pages._lib.errors import show_error


class PolledJob(Protocol):
    """A :class:`core.jobs.Job` with the two words a panel shows: its progress text and its cancel note."""

    status: str
    error: Exception | None

    @property
    def running(self) -> bool: ...

    def advance(self, budget_s: float = ...) -> Any: ...

    def progress(self) -> Any: ...

    def describe(self) -> str: ...

    def cancel(self) -> None: ...

    def cancel_note(self) -> str | None: ...


_Job = TypeVar("_Job", bound=PolledJob)


def job_running(key: str) -> bool:
    """Whether the job in ``st.session_state[key]`` runs; read once per full run, so its fragment refreshes
    (``run_every``) only while it does."""
    job = st.session_state.get(key)
    return job is not None and job.running


def _start_job(key: str, start: Callable[[], PolledJob]) -> None:
    st.session_state[key] = start()


def _cancel_job(key: str) -> None:
    st.session_state[key].cancel()


def poll_job_panel(key: str, polling: bool, start: Callable[[], _Job], *, start_label: str, start_key: str,
                   cancel_key: str, failed: str, budget_key: str, tick_s: float, can_start: bool = True,
                   idle: str | None = None, on_done: Callable[[_Job], None] | None = None) -> _Job | None:
    """Start and Cancel buttons for the job in ``st.session_state[key]``, and one poll of it; called
    inside the page's fragment, which refreshes while ``polling`` (:func:`job_running` at the full run).

    Running: a slice of work (``st.session_state[budget_key]`` seconds if set, as tests do, else
    ``tick_s``) and its progress bar. A job started by a click inside the fragment, or finished in
    this slice, gets a full rerun, which starts or stops the refresh; one finished is first handed to
    ``on_done`` (the page keeps its result, so that one rerun draws it) and its progress bar stays in
    view, saying what is left, while the rerun draws. Failed: its error under
    ``failed``. Returns the job once it stopped without failing (a cancelled one with its note
    shown), for the page to show what it made; else ``None`` (``idle`` is the caption before any).
    """
    job: _Job | None = st.session_state.get(key)
    running = job is not None and job.running
    row = st.container(horizontal=True)  # buttons as wide as their labels: none is cut
    row.button(start_label, type="primary", disabled=running or not can_start, key=start_key, on_click=_start_job,
               args=(key, start))
    row.button("Cancel", disabled=not running, key=cancel_key, on_click=_cancel_job, args=(key,))
    if job is None:
        if idle:
            st.caption(idle)
        return None
    if running and not polling:  # started by a click inside this fragment: a full rerun starts the polling
        st.rerun()
    if running:
        job.advance(budget_s=st.session_state.get(budget_key, tick_s))
        if job.status == "done" and on_done is not None:
            on_done(job)
        if job.status in ("running", "done"):  # a finished job's bar stays in view while the full rerun draws
            st.progress(job.progress().fraction, text=job.describe())
        if not job.running:
            st.rerun()  # finished: a full rerun stops the polling
        return None
    if job.status == "failed":
        show_error(job.error or RuntimeError(f"{failed} without an error"), failed)
        return None
    if job.cancel_note():
        st.warning(job.cancel_note())
    return job
