"""Why a cluster yields what it yields: the rule extractor's per-document explanation, as an expander for the Bandit
page."""

from __future__ import annotations

import streamlit as st

from core.equal.extract.rules import RuleExtractor, explain_cluster


def cluster(corpus, cmap) -> None:
    """Expander: per document of a chosen cluster of ``cmap``, which extraction rule fired or why none did."""
    with st.expander("Why a cluster yields what it yields (rule extractor, per document)"):
        chosen = st.number_input("Cluster", 0, max(len(cmap.clusters) - 1, 0), 0, key="bd_why_cluster")
        st.dataframe(explain_cluster(RuleExtractor(), corpus.ids, corpus.texts, cmap.labels, int(chosen)),
                     hide_index=True, key="bd_why")
