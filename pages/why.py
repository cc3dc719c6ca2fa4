"""Why a cluster yields what it yields: the rule extractor's per-document explanation, as an expander for the Bandit
page."""

from __future__ import annotations

import streamlit as st

from core.equal.extract.rules import RuleExtractor, explain_cluster

LIMIT = 200  # documents explained per cluster (explain_cluster's limit): the table says when a cluster holds more


def cluster(corpus, cmap, names: list[str]) -> None:
    """Expander: per document of a chosen cluster of ``cmap`` (offered by ``names``, the arms' keywords as the arm
    table shows them), which extraction rule fired or why none did."""
    with st.expander("Why a cluster yields what it yields (rule extractor, per document)"):
        chosen = st.selectbox("Cluster", range(max(len(cmap.clusters), 1)), key="bd_why_cluster",
                              format_func=lambda c: names[c] if c < len(names) else f"cluster {c}")
        table = explain_cluster(RuleExtractor(), corpus.ids, corpus.texts, cmap.labels, int(chosen), limit=LIMIT)
        size = int((cmap.labels == int(chosen)).sum())
        shown = f"the first {len(table):,} of its {size:,} documents" if size > len(table) else "each of its documents"
        st.caption(f"{int((table['pairs'] > 0).sum()):,} of {len(table):,} documents of this cluster yield pairs "
                   f"({int(table['pairs'].sum()):,} pairs); below, {shown}, with the rule that fired or why none did.")
        st.dataframe(table, hide_index=True, key="bd_why", column_config={  # widths in px: at 1440 px the reason
            "document": st.column_config.TextColumn("document", width=170),  # (84 characters mostly) fits whole
            "pairs": st.column_config.NumberColumn("pairs", width=50),
            "rules": st.column_config.TextColumn("rules", width=90),
            "why": st.column_config.TextColumn("why", width=600)})
