"""The page's address: a deep link restores a view, the view is written back into the URL, views survive a
page switch, and a fresh server's first request lands in ``app.py``'s navigation."""

from __future__ import annotations

import streamlit as st

from core import ui_state
from core.links import encode_view
from core.text import md_escape
from pages._lib.choices import PRESENTING
from pages._lib.links import page_params, view_keys
from pages._lib.links import restore_link as decode_link


def leave_pages_directory_mode() -> None:
    """Make a deep link that is a fresh server's first request land in ``app.py``'s navigation.

    Until some session has run ``app.py`` (which calls ``st.navigation``), Streamlit treats the
    ``pages/`` folder as a v1 multipage app: a first request for ``/bandit`` runs
    ``pages/bandit.py`` alone, without ``app.py``'s sidebar and page config, and lists every
    file (``common`` included) as a page. Streamlit switches modes through a process-wide flag
    that ``st.navigation`` clears; clearing it here and rerunning sends this same request through
    ``app.py``, whose pages use their file names as URL paths, so the page hash is unchanged and
    the user lands on the page they asked for.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a Streamlit without the v1 flag has nothing to leave
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def restore_link(page: str | None) -> None:
    """Once per session and page, before any widget: set the session from the link's query parameters.

    Called by ``app.py``: with ``None`` before it builds the navigation (presentation mode, seed),
    then with the page's URL path. What the link could not restore is kept for
    :func:`link_warning` to say, and the rest of the view is shown.
    """
    S = st.session_state
    if page is not None and "link_problems" in S and S.get("link_problems_for") is None:
        S["link_problems_for"] = page  # the page the link opened: its problems are said until it is left
    flag = f"link_restored:{page}"
    if S.get(flag):
        return
    st.session_state[flag] = True
    values, problems = decode_link(page, st.query_params.to_dict())
    st.session_state.update(**values)
    if "sb_demo" in values:  # a link's presentation mode
        st.session_state[PRESENTING] = values["sb_demo"]
    if problems:
        S["link_problems"] = S.get("link_problems", []) + problems
        S["link_problems_for"] = page


def keep_views(page: str) -> None:
    """Every page's view (the keys its links carry) survives leaving the page (:func:`core.ui_state.carry`);
    ``page`` (its URL path) is the one about to draw."""
    ui_state.carry(st.session_state, view_keys(), view_keys(page))
    if st.session_state.get("link_problems_for") not in (None, page):  # the linked page was left
        st.session_state.pop("link_problems", None)
        st.session_state.pop("link_problems_for", None)


def share_view(page: str, **current) -> None:
    """Write the page's current view into the URL, so copying the address shares it.

    ``current`` overrides session values for parameters the page derives (the live run's id, the
    highlighted cluster). Values at their default are left out.
    """
    want = encode_view({**st.session_state.to_dict(), **current}, page_params(page))
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)


def link_warning() -> None:
    """What the page's link could not restore, each value named (escaped: a link's text is data, never Markdown)."""
    problems = st.session_state.get("link_problems")  # said on every run of the linked page (a map's first
    # selection reruns it at once), dropped when another page is drawn (keep_views)
    if problems:
        st.warning("This link could not restore " + md_escape("; ".join(problems)) + ". The rest of the view is shown.",
                   icon=":material/link_off:")
