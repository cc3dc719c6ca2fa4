"""The Bandit page's cached resources (run store, OT warm-up, embedder, pulls-map points, a tag's reference) and
its panels below the live run: the baselines, the extracted pairs' downloads and the stored runs (reopen
or compare). Drawn by ``pages/bandit.py``; not a page of its own (``app.py`` lists the pages)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.corpus.tags import tagged_ids
from core.equal.baselines import BaselinesJob
from core.equal.export import export_pairs
from core.equal.extract import make_extractor
from core.equal.live import (
    MAX_COMPARED,
    LiveLoop,
    label_runs,
    picked_labels,
    runs_table,
    stored_rounds,
    stored_settings_table,
)
from core.equal.reference import TAG_PREFIX, check_reference_size, load_reference, reference_from_tag
from core.equal.reopen import OtherMapError
from core.equal.reward import import_solver
from core.equal.run import BanditRun, RunConfig, encoder_embedder
from core.equal.settings import changed_settings
from core.equal.store import RunStore
from core.text import md_escape
from core.viz.bandit import compared_names, compared_table_style, make_comparison_figure
from core.viz.webgl_map import prepare_points
from pages import bandit_settings, common

UPLOAD = "Upload…"  # the reference choice that shows a file uploader

S = st.session_state


# the page's resources, once per process (st.cache_resource); a spinner names in words what it waits for
@st.cache_resource(show_spinner="Opening the run store…")
def store() -> RunStore:
    """The run store every run of this process commits to (the cache's runs/runs.sqlite). A run whose browser tab
    was closed or reloaded is free at once (:func:`hold`), not after the store's lease of two minutes."""
    return RunStore(holder_alive=functools.partial(_tab_open, _lease_tabs()))


@st.cache_resource(show_spinner=False)
def _lease_tabs() -> dict[str, str]:
    """The browser session (Streamlit's session id) of each run object this process built: ``{lease owner: id}``."""
    return {}


def next_run_note(loop: LiveLoop, config: RunConfig | None, reference=None) -> None:
    """Name the controls a live (playing or paused) run does not follow: a tuning lab's Apply, or a control touched
    mid-run (a setting, the reference task ``reference`` a new run would get, the sidebar's seed), sets them for the
    next new run."""
    if config is None or loop.state not in ("playing", "paused"):
        return
    changed = changed_settings(loop.run.config, config)
    own = S.get("bd_refs", {}).get(loop.run.run_id)  # the live run's reference set (pages/bandit.py keeps it)
    if reference is not None and own is not None and reference.name != own.name:
        changed.insert(0, "Reference task")
    if config.seed != loop.run.config.seed:
        changed.append("Seed (sidebar)")
    if changed:
        one = len(changed) == 1
        st.caption(f"**{', '.join(changed)}** above {'differs' if one else 'differ'} from the live run's: "
                   f"{'it is' if one else 'they are'} for the next new run (press Reset, then Start). Resume and Step "
                   "play the live run as it was started.")


def hold(run: BanditRun) -> BanditRun:
    """Note that ``run`` is this browser tab's, so its lease dies with the tab (returns ``run``)."""
    ctx = get_script_run_ctx()
    if ctx is not None:
        _lease_tabs()[run.owner] = ctx.session_id
    return run


def _tab_open(tabs: dict[str, str], owner: str) -> bool:
    """False when ``owner``'s run belongs to a tab that is no longer connected (closed or reloaded); True when
    unknown (another process, a command line run, no server)."""
    session = tabs.get(owner)
    return session is None or not runtime.exists() or runtime.get_instance().is_active_session(session)


@st.cache_resource(show_spinner=False)
def warm_solver() -> threading.Thread:
    """Import the OT solver and the rule extractor once per process in the background (5-12 s on a busy CPU), so
    Start's first pull does not wait for them; called before anything else the page loads."""
    thread = threading.Thread(target=_import_first_run, name="warm-ot", daemon=True)
    thread.start()
    return thread


def _import_first_run() -> None:
    import_solver()
    make_extractor("rules")


@st.cache_resource(show_spinner=False, max_entries=4)
def pull_points(map_key: str, _cmap):
    """The pulls map's points (every document at its map position, coded by cluster), once per map."""
    return prepare_points(_cmap.xy[:, 0], _cmap.xy[:, 1], _cmap.labels)


@st.cache_resource(max_entries=4, show_spinner="Loading the encoder for the pairs…")
def embedder(name: str):
    """One pair-text embedder per encoder for the process: its memo is shared by every run and baselines job."""
    return encoder_embedder(common.encoder(name))


@st.cache_resource(max_entries=8, show_spinner="Extracting the saved selection's pairs…")
def tag_reference(choice: str, tagged: tuple, corpus_hash: str, _tags, _corpus):
    """A tag's reference task, extracted once per tag content (a rerun does not extract its documents again)."""
    return reference_from_tag(choice, _tags, _corpus, make_extractor("rules"))


def chosen_reference(choice: str, upload, presets: list[str], tags, corpus):
    """The reference task the page's choice names: an uploaded file, a saved selection of the map (``tag:``) or
    a preset (the first while "Upload…" has no file yet). Raises ``ValueError`` naming what is wrong."""
    if upload is not None:
        check_reference_size(upload.size, upload.name)  # its own limit, far below the 1 GB of any upload
        return load_reference(upload.getvalue(), upload.name)
    if choice.startswith(TAG_PREFIX):
        tagged = tagged_ids(tags, [choice.removeprefix(TAG_PREFIX)])
        return tag_reference(choice, tagged, corpus.content_hash, tags, corpus)
    return load_reference(choice if choice != UPLOAD else presets[0])


def downloads(run: BanditRun, reference, playing: bool) -> None:
    """The extracted pairs as JSONL (messages and alpaca shapes), decontaminated against the reference set;
    built only while the run holds still, since they read every pair."""
    if not run.pairs:
        return
    if playing:
        st.caption("The extracted pairs can be downloaded when the run is paused or finished.")
        return
    st.session_state.setdefault("bd_ngram", 8)
    n = st.number_input("Decontamination n-gram", 3, 50, key=common.kept_key("bd_ngram"), width=220,
                        help="Pairs that share a run of this many words with the reference set, or hold a "
                        "shorter reference example whole, are left out of the export.")
    d1, d2 = st.columns(2)
    for col, shape in ((d1, "messages"), (d2, "alpaca")):
        out = export_pairs(run.pairs_frame(), reference.raw_texts(), shape=shape, n=int(n))
        col.download_button(f"Extracted pairs as {shape} JSONL ({out.n_written:,}; {out.n_removed} removed)",
                            out.data, f"d_e_{shape}.jsonl", "application/jsonl", key=f"bd_dl_{shape}",
                            help="The extracted set (D_e in the paper), without pairs that share an n-gram "
                                 "with the reference set.")


def baselines(polling: bool, start: Callable[[], BaselinesJob], tick_s: float) -> None:
    """The baselines' panel, inside the page's fragment that refreshes while ``polling``: Start, Cancel and the
    progress of the job in ``bd_base_job``; its result is kept in ``bd_baselines`` as it ends, so the one full
    rerun that stops the polling draws the curves on the main chart."""
    st.caption("**Baselines** on the same axes: random documents, every document in order, and the documents most "
               "similar to the reference set first (the documents they read are extracted once, then each replays).")
    if S.get("bd_base_job") is not None:  # until a job measured it, the curves show after a full run up to the charts
        S["bd_base_job"].page_run_seconds = S.get("bd_drawn_s", 0.0)
    common.poll_job_panel("bd_base_job", polling, start, start_label="Compute the baselines", start_key="bd_base",
                          cancel_key="bd_base_cancel", failed="The baselines failed", budget_key="bd_base_budget",
                          tick_s=tick_s, on_done=_keep_baselines)


def _keep_baselines(job: BaselinesJob) -> None:
    S["bd_baselines"] = job.result


def stored_runs(store: RunStore, loop: LiveLoop, reopen: Callable[[str], BanditRun], reference_name: str) -> None:
    """Every stored run in a table; one picked is reopened (its settings set on every control), two to
    :data:`~core.equal.live.MAX_COMPARED` are overlaid on one chart beside a table of the settings they differ in."""
    with st.expander("Stored runs: reopen or compare"):
        try:
            runs = store.list_runs()
        except ValueError as exc:
            common.show_error(exc, "Stored runs unavailable")
            return
        if runs.empty:
            st.write("No stored runs yet.")
            return
        st.dataframe(runs_table(runs), hide_index=True, key="bd_runs")
        labels = label_runs(runs)
        pick = st.multiselect(f"Pick one run to reopen, or up to {MAX_COMPARED} to compare", list(labels),
                              format_func=lambda r: labels.get(r, r), max_selections=MAX_COMPARED, key="bd_pick",
                              help=f"Compared runs are overlaid on one chart, at most {MAX_COMPARED} (each is "
                                   "reopened once to draw it), with a table of the settings they differ in.")
        if len(pick) == 1 and st.button("Reopen", key="bd_reopen"):
            try:
                loop.adopt(reopen(pick[0]))
                bandit_settings.apply_config(loop.run.config)  # every control shows the reopened run's settings
                st.rerun()
            except ValueError as exc:
                common.show_error(exc, "Cannot reopen")  # the message names what differs
                offer_its_map(exc, pick[0], "bd_reopen_other_map")
        if len(pick) >= 2:  # resumed once per stored state, not per rerun
            frames, problems = stored_rounds(S.setdefault("bd_cmp", {}), runs, pick, reopen, reference_name)
            if problems:
                common.show_error(ValueError("; ".join(problems)), "Cannot compare: could not reopen")
            else:
                names = compared_names(picked_labels(labels, pick))  # the parts they share left to the picker
                st.plotly_chart(make_comparison_figure(list(zip(names, frames))), key="bd_compare")
                _compare_note(store, pick, names)


def offer_its_map(exc: BaseException, run_id: str, key: str) -> None:
    """A run refused because it was made on another encoder's map (:class:`~core.equal.reopen.OtherMapError`; the
    static map a fresh install draws before MiniLM replaces it): a button that switches the sidebar's Encoder to that
    map and reopens the run, as a link to it would."""
    if not isinstance(exc, OtherMapError):
        return
    choice = common.encoder_choice(exc.encoder)
    st.button(f"Switch the map to {choice} and reopen", key=key, icon=":material/restore:",
              on_click=_reopen_on, args=(choice, run_id))


def _reopen_on(choice: str, run_id: str) -> None:
    common.switch_encoder(choice)
    S["bd_link_run"] = run_id  # the page reopens it once the sidebar draws that map


def _compare_note(store: RunStore, pick: list[str], names: list[str]) -> None:
    """Which settings the compared runs differ in, a row per run (their names say only policy, task and seed)."""
    try:
        table = stored_settings_table(store, pick, names)
    except (KeyError, ValueError, TypeError) as exc:  # a run deleted meanwhile, or stored by a version with other
        st.caption(f"Their settings could not be read: {md_escape(exc)}")  # settings
        return
    if table.shape[1] == 1:
        st.caption(f"{'Both' if len(pick) == 2 else f'All {len(pick)}'} runs have the same settings and seed (their "
                   "names differ only in when they started).")
        return
    st.caption("**Settings that differ**, a row per run in the order picked:")
    st.dataframe(compared_table_style(table), hide_index=True, key="bd_compare_settings")  # run: its curves' colour
