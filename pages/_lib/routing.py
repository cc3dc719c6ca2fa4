"""The page's address: a deep link restores a view, the view is written back into the URL, views survive a
page switch, and a fresh server's first request lands in ``app.py``'s navigation.

**What a page switch keeps, declared once.** Streamlit forgets a widget's value at the end of a run that does
not draw it, so a page left comes back at its defaults unless :func:`keep_views` carries its keys
(:func:`core.ui_state.carry`). Every keyed widget a page draws is one of:

- **link-carried**: its :class:`core.links.Param` (``pages._lib.links.PAGE_PARAMS``, derived from the setting's
  spec where there is one) names its key; kept on a page switch (unless ``once``) and written into the URL;
- **kept**: drawn with ``key=kept_key("dl_seeds")``, the one place that says so: :func:`kept_key` records the key
  under the page drawing it (:func:`core.ui_state.declare_kept`), and from then on this session keeps its value
  when the page is left and puts it back when the page is drawn again (a sweep's size, the tuning grid, the
  endpoint URL, model and key, a path typed). Declared as drawn, not in a list beside the widgets (which drifted:
  a widget added and not listed was lost on a page switch); a kept widget holds a value only once its page has
  drawn it, and by then the session has recorded its key;
- **a pick**: a key in :data:`PICKS`, the one exclusion list: what the user picks among the page's current data
  (a row, a document, a curve, a stored run, a tag to delete or rename and its new name, a name for the
  selection), forgotten when the page is left, as it always was;
- **the sidebar's** (:data:`pages._lib.choices.SIDEBAR_KEYS`): drawn on every page, so never left.

Buttons, uploads, downloads and a chart's or table's selection hold no value a session may set, and a form's
fields are a draft until submitted; none of them is kept. ``tests/test_widget_keys.py`` reads every widget call
in ``pages/`` and fails on a key of none of the four kinds, so a new widget cannot be silently lost on a page
switch.
"""

from __future__ import annotations

import streamlit as st

from core import ui_state
from core.links import encode_view
from core.text import md_escape
from pages._lib.choices import PRESENTING
from pages._lib.links import link_keys, page_params
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


#: the picks of every page (see the module docstring): keyed widgets deliberately not kept when their page is left
PICKS = ("cm_doc", "cm_tag_name", "cm_tag_delete", "cm_tag_rename", "cm_tag_new_name", "bd_pick", "bd_why_cluster",
         "tl_pick")
VIEW_PAGE = "_view_page"  # the URL path of the page this run draws (set by keep_views)


def kept_key(key: str) -> str:
    """``key``, declared at its widget a setting the page keeps when it is left although its links do not carry it
    (``st.slider(..., key=common.kept_key("bd_speed"))``); the page drawing it is the one :func:`keep_views` named."""
    return ui_state.declare_kept(st.session_state, st.session_state.get(VIEW_PAGE), key)


def keep_views(page: str) -> None:
    """Every page's view (the keys its links carry, and the kept widgets it declared when drawn: :func:`kept_key`)
    survives leaving the page (:func:`core.ui_state.carry`); ``page`` (its URL path) is the one about to draw."""
    S = st.session_state
    S[VIEW_PAGE] = page
    ui_state.carry(S, link_keys() + ui_state.kept_keys(S), link_keys(page) + ui_state.kept_keys(S, page))
    if st.session_state.get("link_problems_for") not in (None, page):  # the linked page was left
        st.session_state.pop("link_problems", None)
        st.session_state.pop("link_problems_for", None)


def keep_view_now() -> None:
    """Keep the drawing page's view now, from inside a fragment: :func:`keep_views` runs on full runs only, and a
    page switch's run starts without the widgets' values, so a search typed and answered by the search panel's
    fragment alone was lost when the page was left."""
    S = st.session_state
    page = S.get(VIEW_PAGE)
    ui_state.carry(S, link_keys(page) + ui_state.kept_keys(S, page), ())


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
