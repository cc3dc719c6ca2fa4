"""CTAR generator: the causal graph with missingness, parameters by mechanism, sample, compare, download."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import streamlit as st

from core import access
from core.ctar.config import (
    CHOICE_LABELS,
    FORM_FIELDS,
    PARAMETER_GROUPS,
    CTARConfig,
    CTARConfigError,
    field_meta,
    in_words,
    where_to_change,
)
from core.ctar.export import zip_bytes
from core.ctar.graph import build_pair_template, causal_graph, compare_interventional
from core.ctar.inputs import CatalogueInputs, CTARInputError, load_inputs
from core.ctar.presets import (
    INTERVENTION_HELP,
    INTERVENTIONS,
    PREVIEW_TABLES,
    ctar_data_dir,
    default_values,
    has_original_inputs,
    intervention_in_words,
    intervention_label,
    notes_text,
    parameter_table,
    preview_tables,
    released_reference,
    target_in_words,
)
from core.ctar.sampler import intervene, sample
from core.ctar.stats import (
    MARGINAL_HEADINGS,
    check_marginals,
    compare_statistics,
    style_statistics,
    summarize,
    summarize_truth,
)
from core.ctar.stream import StreamError, load_stream
from core.text import md_escape
from core.viz import ctar as viz

common: ModuleType | None
try:
    from pages import common
except Exception:  # the page also runs alone
    common = None

DATA = ctar_data_dir()
DEFAULTS = CTARConfig()

PAGE = "ctar_generator"
if common is not None:
    common.page_header("CTAR generator", "Semi-synthetic recommender data whose causes are known (Lyu et al. 2022)")
    seed = common.seed()
else:
    st.title("CTAR generator")
    seed = 0
#: a setting kept when the page is left (pages._lib.routing); the page run alone keeps nothing
kept_key = common.kept_key if common is not None else str


def _reset() -> None:
    st.session_state.update(**default_values("ctar_"))


def _widget(name: str):
    key, default = f"ctar_{name}", getattr(DEFAULTS, name)
    if key not in st.session_state:
        st.session_state[key] = default
    meta = field_meta(name)  # label, help and choices are CTARConfig's field metadata
    label, about = meta["label"], f"{meta['help']} (`{name}`)"  # the field's name, as in CTARConfig and the exports
    if meta["choices"]:
        words = CHOICE_LABELS.get(name, {})  # a choice in words; the value stays the field's (links, --set)
        return st.selectbox(label, meta["choices"], key=key, help=about, format_func=lambda v: words.get(v, v))
    if isinstance(default, bool):
        return st.checkbox(label, key=key, help=about)
    if isinstance(default, int):
        return st.number_input(label, min_value=0, step=1, key=key, help=about)
    return st.number_input(label, step=float(default) / 10 or 0.01, format="%.4f", key=key, help=about)


sources = ["Synthetic catalogue (offline)"]
if has_original_inputs(DATA):
    sources.append("CTAR original inputs")
OPEN_OUTPUT = "Generated folder (python -m core.ctar generate)"  # a partitioned output: its statistics are read
if common is not None and common.server_paths_allowed():  # a browser from another machine: no server paths
    sources += ["Folder (CTAR original or MovieLens)", OPEN_OUTPUT]
left, right = st.columns([2, 3])
with left:
    source = st.radio("Inputs", sources, horizontal=True, key=kept_key("ctar_source"))
    if (source.startswith("Folder") or source == OPEN_OUTPUT) and common is not None:
        common.path_input("Folder path", kept_key("ctar_folder"), help="Only under the server's allowed folders "
                          "(EQUALCTAR_ROOTS); its files are read with their links followed."
                          + (" A folder written by `python -m core.ctar generate --format partitioned --out DIR`: "
                             "its statistics are read without loading every pair." if source == OPEN_OUTPUT else ""))
    choice = st.selectbox("Intervention", list(INTERVENTIONS), key="ctar_intervention", format_func=intervention_label,
                          help=INTERVENTION_HELP)  # the value stays the notation (links, tests)
    intervention = INTERVENTIONS[choice]
    g1, g2 = st.columns(2)  # above the parameters, so Generate is in view on a laptop screen
    generate = g1.button("Open its statistics" if source == OPEN_OUTPUT else "Generate", type="primary",
                         key="ctar_generate", width="stretch")
    g2.button("Reset to CTAR defaults", on_click=_reset, width="stretch", key="ctar_reset")
    refused_at = st.empty()  # a refused parameter is said under Generate, in view, not below every group
    values: dict[str, Any] = {"seed": seed}  # each checked by CTARConfig
    for group, names in PARAMETER_GROUPS.items():
        with st.expander(group, expanded=group == "Size and seed" and not (common and common.demo_mode())):
            for name in names:
                if name in FORM_FIELDS:
                    values[name] = _widget(name)

config: CTARConfig | None
try:
    config = CTARConfig(**values)
    intervention.check_config(config)  # e.g. do(N = 2) with one tag per movie
except CTARConfigError as exc:
    config = None
    refused_at.error(f"Invalid parameter: {md_escape(in_words(exc))}. {where_to_change(exc)}".rstrip())

if common is not None:  # the address bar first: a link copied right after a change holds it
    common.share_view(PAGE)
with right:
    graph = causal_graph(config or DEFAULTS, intervention)
    # the figure does not depend on the chosen node: a changed figure would reset the chart's selection
    event = st.plotly_chart(viz.make_causal_graph_figure(graph), key="ctar_graph",
                            on_select="rerun", selection_mode="points", width="stretch")
    node = viz.selected_node(event) or st.session_state.get("ctar_node") or "Y"
    st.session_state["ctar_node"] = node
    info = graph.details(node)
    presenting = common is not None and common.presenting()  # no equations in presentation mode
    name = viz.plain_label(info["label"]) if presenting else info["label"]
    st.markdown(f"**{name}** · *{info['kind']}*" + ("" if presenting else f" — `{info['equation']}`"))
    if info["parameters"]:
        st.dataframe(parameter_table(info), hide_index=True, width="stretch")
    st.caption("Click a node for its equation and parameters. Red dashed edges are cut by the chosen intervention.")


if source == OPEN_OUTPUT:  # a generated folder: its statistics beside the release's, nothing sampled here
    if generate and common is not None:
        try:
            opened = load_stream(common.server_path("ctar_folder") or "", roots=access.allowed_roots())
            st.session_state["ctar_opened"] = (opened, summarize(opened))
        except (StreamError, access.PathNotAllowedError, OSError) as exc:
            common.show_error(exc, "Cannot open this folder")
    if "ctar_opened" not in st.session_state:
        st.info("Name a folder written by `python -m core.ctar generate --format partitioned` and press "
                "**Open its statistics**.")
        st.stop()
    opened, opened_stats = st.session_state["ctar_opened"]
    st.subheader(f"Statistics of the generated folder ({opened.n_users:,} users × {opened.n_movies:,} movies)")
    released, label = released_reference(DATA)
    st.dataframe(style_statistics(compare_statistics({"generated folder": opened_stats, label: released})),
                 hide_index=True, width="stretch", height=360)
    st.stop()

if generate and config is not None:
    bar = st.progress(0.0, "Sampling…")
    try:
        inputs: CatalogueInputs | None = None  # the synthetic catalogue
        if source.startswith("Folder") and common is not None:  # a typed folder: under the roots, its files too
            inputs = load_inputs(common.server_path("ctar_folder") or "", roots=access.allowed_roots())
        elif source.startswith("CTAR"):
            inputs = load_inputs(DATA / "original")
        result = sample(config, inputs, progress=lambda f, m: bar.progress(min(f, 1.0), m))
        done = intervene(config, intervention, inputs=result.catalogue) if not intervention.is_empty else None
        st.session_state["ctar_result"] = (result, done, intervention)
        bar.progress(1.0, f"Sampled {config.n_pairs:,} pairs in {result.seconds:.1f} s")
    except (CTARConfigError, CTARInputError, access.PathNotAllowedError) as exc:
        bar.empty()
        common.show_error(exc) if common is not None else st.error(str(exc))  # escaped: a CSV header is data

stored = st.session_state.get("ctar_result")
if stored is None:
    st.info("Set the parameters and press **Generate**." if config is not None else
            "Change the parameter named under **Generate**, then press it.")
    st.stop()
result, done, done_iv = stored
if result.notes:
    st.caption(notes_text(result))

st.subheader("Statistics")
released, label = released_reference(DATA)
table = compare_statistics({"this sample": summarize(result.tables()), label: released})
st.dataframe(style_statistics(table), hide_index=True, width="stretch", height=360)

truth = summarize_truth(result)
tabs = st.tabs(["Ratings", "Exposure", "ObsTag", "Liked tags", "Reasons"])
tabs[0].plotly_chart(viz.make_rating_distribution_figure(truth["rating_distribution"]), width="stretch")
tabs[1].plotly_chart(viz.make_exposure_figure(truth["exposure_by_rank"]), width="stretch")
tabs[2].plotly_chart(viz.make_obstag_rate_figure(truth["obstag_by_rating"]), width="stretch")
tabs[3].plotly_chart(viz.make_count_figure(truth["liked_per_user"], "liked", "users", "Liked tags per user",
                                           "liked tags of the user"), width="stretch")
tabs[4].plotly_chart(viz.make_count_figure(truth["reasons_per_pair"], "n_match", "pairs", "Reasons per pair",
                                           "liked tags on the movie (reasons)"), width="stretch")

st.subheader("Specified vs sampled marginals")
st.caption("Each quantity the generator was told to produce, against what this sample holds; a difference within 4 "
           "standard errors is sampling noise.")
st.dataframe(check_marginals(result).rename(columns=MARGINAL_HEADINGS), hide_index=True, width="stretch")

st.subheader("Intervention")
if done is None:
    st.caption("Choose an intervention and press Generate to compare the exact answer (pgmpy) with a sample drawn "
               "under it.")
else:
    with st.spinner("Building the pgmpy template…"):
        template = build_pair_template(result)
        st.markdown(f"**{md_escape(intervention_in_words(done_iv))}** — the exact answer from the model with the "
                    "cut edges removed (pgmpy's mutilated per-pair model) beside a sample drawn under it (numpy)")
        compared = compare_interventional(template, done, done_iv)
        compared.index.name = target_in_words(str(compared.index.name))
        st.dataframe(compared, width="stretch")

st.subheader("Preview and downloads")
previews = preview_tables(result.tables())
st.session_state.setdefault("ctar_preview", PREVIEW_TABLES[0])
shown = st.segmented_control("File", PREVIEW_TABLES, key=kept_key("ctar_preview")) or PREVIEW_TABLES[0]
st.dataframe(previews[shown], hide_index=True, width="stretch")
c1, c2 = st.columns(2)
c1.download_button("CSV (CTAR layout, zip)", zip_bytes(result, "csv"), "ctar_csv.zip", "application/zip")
c2.download_button("Parquet (+ ground truth, zip)",
                   zip_bytes(result, "parquet", with_pairs=result.config.n_pairs <= 2_000_000),
                   "ctar_parquet.zip", "application/zip")
