"""Each page's header, and in presentation mode the plain-language note above it."""

from __future__ import annotations

import streamlit as st

from pages._lib.choices import demo_mode, presenting
from pages._lib.routing import leave_pages_directory_mode, link_warning

DEMO_NOTES = {  # demo mode: what the audience is looking at, in plain words, above each page
    "Corpus map": "Every dot is one document. Documents about the same thing land together; the colours are the "
                  "groups the bandit will choose between. Click a dot to read it, or search by meaning to see where "
                  "answers live.",
    "Bandit": "The bandit decides which groups of documents are worth paying to process. Press Start: the bars show "
              "which group it would try next, the table how each has paid off, and the budget chart how much closer "
              "to the task it gets than picking documents at random or processing everything in order.",
    "CTAR generator": "A realistic movie-rating dataset in which we know why every rating exists: the tags a user "
                      "likes, why a rating was seen, and what was never seen. Press Generate, then compare with the "
                      "published CTAR data.",
    "Debiasing lab": "Real feedback is biased by what people choose to rate. Here the truth is known, so we can see "
                     "which corrections recover it. Pick a bias and run the sweep: a method is right when its "
                     "estimate sits on the dashed line of the true loss.",
}


def page_header(title: str, caption: str | None = None) -> None:
    """Title and caption; in demo mode also the page's plain-language note (:data:`DEMO_NOTES`).

    A link that could not be fully restored says here what it could not restore.
    """
    leave_pages_directory_mode()
    st.title(title)
    if caption and not presenting():
        st.caption(caption)
    link_warning()
    if demo_mode() and title in DEMO_NOTES:
        st.info(DEMO_NOTES[title], icon=":material/co_present:")
