"""Tuning lab: many bandit settings side by side, replayed from cache, and the best one sent to the Bandit page.

Widgets -> :class:`core.equal.tune.TuneGrid` -> a :class:`core.equal.tune.TuneJob` polled by a
fragment while it runs (``common.poll_job_panel``) -> :func:`core.viz.tuning.make_tuning_figure`.
The pairs and their vectors are shared with the Bandit page's baselines (``common.baseline_cache``), and the
extractions are kept on disk as they are made (``common.baseline_extractor``), so a restart or another tab reads
them back; a grid that needs extraction calls says how many on its Run button, which is the confirmation.
"""

from __future__ import annotations

import streamlit as st

from core.csv_safe import to_safe_csv
from core.equal.ontask import on_task_ids
from core.equal.policies import POLICIES
from core.equal.reference import DEFAULT_PRESET, list_presets, load_reference, preset_label
from core.equal.run import RunConfig
from core.equal.space import ArmSpace
from core.equal.tune import (
    TUNABLES,
    TUNE_SHARE,
    VARY_HELP,
    TuneGrid,
    TuneJob,
    axes_from,
    bandit_link,
    calls_to_spend,
    cell_settings,
    check_grid,
    clicked_cell,
    grid_size_note,
    rank_cells,
    seed_note,
    setting_cells,
    summarize_tune,
)
from core.viz.tuning import make_tuning_figure
from pages import bandit_panels, bandit_settings, common

JOB, TICK_S, REFRESH_S = "tl_job", 0.3, 0.5
VALUES = {"coverage": "Closeness to the reference set", "on_task_share": "On-task share (provenance label)"}
S = st.session_state



common.page_header("Tuning lab", "Many bandit settings side by side: each cell of the grid is replayed over several "
                   "seeds from the cached extractions, so a whole grid takes seconds. Pick the best curve and send its "
                   "settings to the Bandit page.")

try:
    cmap = common.corpus_map()
except ValueError as exc:
    common.show_error(exc, "Could not build the corpus map")
    st.stop()
corpus = cmap.corpus
map_encoder = cmap.settings.encoder_name  # the encoder that made this map (a static one while MiniLM embeds)
embed = bandit_panels.embedder(map_encoder)  # the Bandit page's: one memo of pair embeddings
space = ArmSpace.from_corpus_map(cmap)
presets = list_presets()

# what the grid is about above, its values and sizes below: "Settings to vary" gets the width for two chips at 1440 px
# (at 1.5 of 5.8 its second chip scrolled out of view)
c1, c2, c5, v3 = st.columns([1.1, 2.4, 1.5, 1.2])
v1, v2, c3, c4 = st.columns([2, 2, 0.8, 0.9])
S.setdefault("tl_preset", DEFAULT_PRESET if DEFAULT_PRESET in presets else presets[0])
preset = c1.selectbox("Reference task", presets, key=common.kept_key("tl_preset"), format_func=preset_label)
S.setdefault("tl_vary", ["batch_arms", "docs_per_pull"])
vary = c2.multiselect("Settings to vary (one or two)", list(TUNABLES), max_selections=2, key=common.kept_key("tl_vary"),
                      format_func=lambda n: TUNABLES[n].chip,  # a chip's words fit; the full labels are in the help
                      help=VARY_HELP)
S.setdefault("tl_seeds", 3)
S.setdefault("tl_budget", TUNE_SHARE)
n_seeds = c3.number_input("Seeds per cell", 1, 10, key=common.kept_key("tl_seeds"),
                          help="Each cell is played with seeds starting at the sidebar's seed; the band spans them. A "
                               "deterministic cell plays once: its seeds would replay the same run.")
budget = c4.number_input("Budget (share)", 0.01, 1.0, step=0.05, key=common.kept_key("tl_budget"),
                         help="The share of the corpus each run may extract (unless the budget is varied).")
policy = c5.selectbox("Policy (unless varied)", POLICIES, key=common.kept_key("tl_policy"),
                      format_func=TUNABLES["policy"].choice_text,
                      help="The policy every cell plays. The lab starts on EQUAL's bandit over clusters, where "
                           "arms per round and documents per pull change which documents are read; under "
                           "**Learned** (the Bandit page's default) they only set how many documents a round reads.")
value_cols, slot = (v1, v2), 0
chosen: dict = {}
for name, tunable in TUNABLES.items():
    if name in vary:
        S.setdefault(f"tl_values_{name}", list(tunable.choices[:4]))
        chosen[name] = value_cols[slot].multiselect(f"{tunable.label}: values", list(tunable.choices),
                                                    key=common.kept_key(f"tl_values_{name}"),
                                                    format_func=tunable.choice_text)
        slot += 1
kind = v3.radio("Extractor", ["rules", "openai"], horizontal=True, key=common.kept_key("tl_extractor"),
                format_func=lambda x: "Rule-based" if x == "rules" else "Endpoint (environment)",
                help="Rule-based: offline and free. An endpoint extractor (EQUAL_LLM_BASE_URL, EQUAL_LLM_MODEL) "
                     "replays what its cache holds; documents it lacks are extracted only after you confirm the calls.")

try:
    grid = TuneGrid(axes_from(vary, chosen), tuple(range(common.seed(), common.seed() + int(n_seeds))),
                    RunConfig(policy=policy, budget=float(budget), extractor=kind))
    extractor = common.baseline_extractor(kind)  # its extractions kept on disk: a restart re-reads, not re-extracts
    ref = load_reference(preset)
    ref_emb = embed(ref.texts())
    check_grid(grid, space, ref_emb)
except ValueError as exc:  # TuneConfigError, or an endpoint that is not configured
    common.show_error(exc, "Grid settings")
    st.stop()

cache = common.baseline_cache(corpus.content_hash, space.fingerprint, map_encoder, kind)
need = calls_to_spend(space, extractor, cache)
on_task = on_task_ids(preset, corpus.ids) if common.builtin_corpus() else None
if need:
    st.warning(f"{need:,} documents are not extracted yet: this grid spends {need:,} extraction calls "
               f"({'offline and free' if kind == 'rules' else 'paid, on the endpoint'}) before it replays. Pressing "
               f"**Run ({need:,} calls)** confirms the spend; they are extracted once and kept for every later grid.",
               icon=":material/payments:")
st.caption(grid_size_note(grid))  # a deterministic cell plays once: its seeds would replay the same run
if note := seed_note(grid):  # the Bandit page's "the seed changes nothing", for the cells of the grid
    st.caption(note)
polling = common.job_running(JOB)


@st.fragment(run_every=REFRESH_S if polling else None)
def grid_panel(grid: TuneGrid) -> None:
    job = common.poll_job_panel(
        JOB, polling, lambda: TuneJob(grid, space, extractor, embed, ref_emb, cache=cache, on_task=on_task,
                                      spend=True),
        start_label=f"Run ({need:,} calls)" if need else "Run the grid", start_key="tl_run",
        cancel_key="tl_cancel", failed="The grid failed", budget_key="tl_budget_s", tick_s=TICK_S,
        idle="Run the grid to see every cell's closeness to the reference set against the extraction calls it spent.")
    if job is None:
        return
    table = job.table()
    if table.empty:
        return
    left, right = st.columns([3, 1])
    shown = right.radio("Show", list(VALUES) if job.on_task is not None else ["coverage"],
                        key=common.kept_key("tl_value"),
                        format_func=lambda v: VALUES.get(v, v))
    ranked = rank_cells(table)
    cells = setting_cells(ranked)
    clicked = clicked_cell(S.get("tl_chart"), cells)
    if clicked is not None and clicked != S.get("tl_clicked"):  # a new click on a curve picks it
        S["tl_pick"] = S["tl_clicked"] = clicked
    pick = right.selectbox("Pick a curve (best first), or click it", cells, key="tl_pick",
                           help="Its settings go to the Bandit page, and the link below opens them.")
    left.plotly_chart(make_tuning_figure(summarize_tune(table, shown), shown, highlight=pick), key="tl_chart",
                      on_select="rerun", selection_mode="points")
    with st.expander("Every cell, best first", expanded=False):
        st.dataframe(ranked, hide_index=True, key="tl_ranked", column_config={
            "cell": "Setting cell", "kind": "Kind",
            "coverage": st.column_config.NumberColumn("Closeness", format="%.3f"),
            "coverage_sd": None,  # shown in words by "spread": a cell played once has none
            "spread": st.column_config.TextColumn("Spread over seeds (sd)", help="The standard deviation of the "
                                                  "final closeness over the seeds played; a deterministic cell "
                                                  "plays once, so it has none."),
            "runs": st.column_config.NumberColumn("Runs", format="%d", help="Seeds played: one for a deterministic "
                                                  "cell, whose seeds would replay the same run."),
            "calls": st.column_config.NumberColumn("Calls", format="%d"),
            "on_task_share": st.column_config.NumberColumn("On-task share", format="%.2f")})
    right.download_button("Download the table (CSV)", to_safe_csv(table), "tuning_lab.csv", "text/csv",
                          key="tl_download")
    if pick is None:
        return
    config = cell_settings(job.grid, pick)
    right.button("Apply to the Bandit page", type="primary", key="tl_apply", on_click=_apply, args=(config, preset))
    right.caption("Shareable link to the Bandit page with these settings:")
    right.code(bandit_link(st.context.url, config, preset), language=None, wrap_lines=True)
    if S.pop("tl_goto_bandit", False):
        st.switch_page("pages/bandit.py")


def _apply(config: RunConfig, preset: str) -> None:
    bandit_settings.apply_config(config)  # every Bandit control shows the cell's settings when that page draws
    S["bd_preset"] = preset
    S["tl_goto_bandit"] = True


grid_panel(grid)
