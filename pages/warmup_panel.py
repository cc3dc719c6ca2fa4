"""The Corpus map's contrastive warm-up (EQUAL stage A): a background job with progress and Cancel, and the
latest saved report with what changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from core.equal.reference import list_presets, preset_label
from core.equal.warmup_report import (
    STAGE_LABELS,
    describe_training,
    find_warmup_reports,
    summarize_warmup,
    warmup_job,
)
from core.text import md_escape
from core.viz.corpus_map import make_warmup_loss_figure
from pages import common

WARMUP_JOB = "cm_warmup_job"


def _start_warmup(form: dict, corpus, cmap, settings) -> None:
    from core.equal.extract import make_extractor
    from core.equal.reference import load_reference
    from core.equal.warmup import WarmupConfig

    # the encoder chosen, not a provisional static map's: the warm-up stays in one embedding space
    base = settings.encoder_name
    share_pct = form["share"]
    config = WarmupConfig(sample_share=share_pct / 100, epochs=form["epochs"], batch_size=form["batch"],
                          hard_negatives=form["hard"], seed=cmap.settings.seed)
    st.session_state[WARMUP_JOB] = warmup_job(corpus, base, make_extractor("rules"), config,
                                              replace(cmap.settings, encoder_name=base), load_reference(form["ref"]),
                                              base_encoder=common.encoder(base))
    st.session_state.pop(WARMUP_JOB + "_applied", None)


def _polling() -> bool:
    """Whether a warm-up trains: decided per full run, the fragment polls only while it does."""
    warm = st.session_state.get(WARMUP_JOB)
    return warm is not None and warm.running


def _panel(warm_polling: bool) -> None:
    """The running job's progress and Cancel, or how it ended (a fragment while it trains)."""
    job = st.session_state.get(WARMUP_JOB)
    if job is None:
        return
    if job.running and not warm_polling:  # started by this run's click: a full rerun starts the polling
        st.rerun()
    if job.running:
        p = job.progress()
        st.progress(p.fraction, text=f"{STAGE_LABELS.get(p.stage, p.stage or 'Starting')} ({p.done}%) · "
                                     f"{p.seconds:.0f} s so far" + (" · cancelling…" if job.cancelling else ""))
        st.button("Cancel the warm-up", key="cm_warmup_cancel", on_click=job.cancel, disabled=job.cancelling)
        return
    if warm_polling:  # finished while polling: one full rerun shows the saved report and stops the polling
        st.rerun()
    if job.status == "done" and not st.session_state.get(WARMUP_JOB + "_applied"):
        common.forget_encoder(job.result.warmup.model_path)
        st.session_state[WARMUP_JOB + "_applied"] = True
    if job.status == "failed" and job.error is not None:
        common.show_error(job.error, "The warm-up could not run")
    elif job.status == "cancelled":
        st.warning("Warm-up cancelled: the map and the encoder in use are unchanged.")


def _form(base: str, warm_polling: bool) -> tuple[dict, bool]:
    with st.form("warmup_form"):
        c1, c2, c3 = st.columns(3)
        form = dict(share=c1.number_input("Sample share (%)", 0.1, 100.0, 5.0, 0.5),
                    epochs=int(c1.number_input("Epochs", 1, 20, 1)),
                    batch=int(c2.number_input("Batch size", 2, 512, 16)),
                    hard=c2.toggle("Hard negatives", help="Add 3 mined QA strings of similar documents per pair."),
                    ref=c3.selectbox("Reference set (reward)", list_presets(), format_func=preset_label))
        clicked = st.form_submit_button("Run the warm-up", type="primary",
                                        disabled=base.startswith(("hashing", "static-minilm")) or warm_polling)
    return form, clicked


def _report(r: dict, base: str) -> None:
    """The latest saved warm-up of this corpus: what it trained on and what changed."""
    st.markdown(f"**Latest warm-up** of {md_escape(r['base_model'])} (k={r['k']}, reference "
                f"{md_escape(preset_label(r['reference']))}): {describe_training(r)}, {r['n_steps']} steps, "
                f"{r['seconds']:.0f} s. "
                f"Model: {md_escape(Path(r['model_path']).name)}")
    m1, m2, m3 = st.columns(3)
    m1.metric("ARI before vs after", "n/a" if r["ari"] is None else f"{r['ari']:.3f}", help="1 = same clustering")
    m2.metric("Reward spread within clusters", "n/a" if r["spread_after"] is None else f"{r['spread_after']:.4f}",
              None if r["spread_change"] is None else f"{r['spread_change']:+.4f}", delta_color="inverse")
    m3.metric("Documents scored", int(r["n_scored"] or 0))
    st.dataframe(summarize_warmup(r), hide_index=True, width="stretch")
    if r.get("loss_history"):
        st.plotly_chart(make_warmup_loss_figure(r["loss_history"]), key="warmup_loss_chart")
    in_use = base == r["model_path"]
    st.button("Use the warmed-up encoder", disabled=in_use, on_click=common.use_encoder, args=(r["model_path"],),
              help="Switch the sidebar encoder to the saved model folder." if not in_use else "Already in use.")


def show(corpus, cmap, settings) -> None:
    """The warm-up's expander: the form, the running job, the latest saved report."""
    warm_polling = _polling()
    with st.expander("Contrastive warm-up (EQUAL stage A)"):
        base = settings.encoder_name
        st.caption("Extracts QA pairs (rule-based extractor) from a sample, fine-tunes the encoder so documents sit "
                   "near what they yield, saves it, re-maps with the same k and seed, and reports what changed.")
        if base.startswith(("hashing", "static-minilm")):
            st.info("The hashing test encoder has no weights to fine-tune, nor has the static tier a transformer. "
                    "Choose the packaged MiniLM or a local model folder in the sidebar to run the warm-up.", icon="ℹ️")
        form, clicked = _form(base, warm_polling)
        if clicked:
            try:
                _start_warmup(form, corpus, cmap, settings)
            except (ValueError, RuntimeError) as exc:
                common.show_error(exc, "The warm-up could not run")
        st.fragment(_panel, run_every=0.5 if warm_polling else None)(warm_polling)
        saved = find_warmup_reports(corpus.content_hash)
        if saved:
            _report(saved[0], base)
