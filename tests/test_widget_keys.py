"""What a page switch keeps is declared once, at the widget (pages/_lib/routing.py): every widget the app draws is
link-carried, kept (``key=kept_key(...)``), a pick (``PICKS``) or the sidebar's, read from the source, so a new
widget that is none of them fails here instead of being silently lost when its page is left."""

from __future__ import annotations

from pages._lib.choices import DEMO_ON, SIDEBAR_KEYS
from pages._lib.links import PAGE_PARAMS, link_keys, page_params
from pages._lib.routing import PICKS
from tests._widget_keys import WidgetCall, calls_in, widget_calls

#: widgets with a value a session may set (Streamlit refuses one to a button, an upload, a download, a chart's or a
#: table's selection, which are never kept); ``path_input`` is a text box (pages._lib.choices)
VALUE_WIDGETS = {"checkbox", "toggle", "radio", "selectbox", "multiselect", "select_slider", "slider", "number_input",
                 "text_input", "text_area", "date_input", "time_input", "color_picker", "segmented_control", "pills",
                 "feedback", "data_editor", "path_input"}
#: the functions that draw a setting from its spec under the spec's key (not a literal): the link carries each one
SPEC_DRAWN = {("pages/bandit_settings.py", "draw"), ("pages/bandit_settings.py", "_widget"),
              ("pages/ctar_generator.py", "_widget")}
LINKED = {k for page in PAGE_PARAMS for p in page_params(page) for k in (p.key, *p.extra_keys)}


def kind_of(call: WidgetCall) -> str | None:
    """How a page switch treats the widget: ``"kept"``, ``"link"``, ``"pick"``, ``"sidebar"``, ``"draft"`` (a form's
    field), ``"spec"`` (a link's setting drawn from its spec), or ``None``: none of them, lost on a page switch."""
    if call.kept:
        return "kept"
    if call.in_form:
        return "draft"
    if call.key is None and call.has_key and (call.file, call.function) in SPEC_DRAWN:
        return "spec"
    for kind, keys in (("link", LINKED), ("pick", set(PICKS)), ("sidebar", {*SIDEBAR_KEYS, DEMO_ON})):
        if call.key in keys:
            return kind
    return None


def test_every_widget_is_link_carried_kept_a_pick_or_the_sidebars():
    calls = widget_calls(VALUE_WIDGETS)
    assert len(calls) > 60, "the scan should find the pages' widgets"
    strays = [c.where() for c in calls if kind_of(c) is None]
    assert strays == [], ("a widget whose value a page switch would silently lose: draw it with "
                          "key=common.kept_key(...) to keep it, or add its key to PICKS (pages/_lib/routing.py) if it "
                          f"is a pick: {strays}")


def test_the_scan_tells_each_kind_and_catches_an_undeclared_widget():
    source = '''
st.slider("New", 1, 5, key="dl_new")
c1.number_input("Seeds", 1, 9, key=common.kept_key("dl_seeds"))
st.multiselect("Values", [], key=kept_key(f"tl_values_{name}"))
st.selectbox("Read a document", [], key="cm_doc")
st.selectbox("Bias", [], key="dl_mech")
st.toggle("Unkeyed")
common.path_input("Folder path", "ctar_new_folder")
st.button("Go", key="bd_go")
with st.form("f"):
    st.number_input("Clusters k", 1, 9)
def _widget(spec):
    return st.radio("x", [], key=spec.key)
'''
    kinds = [(c.key, kind_of(c)) for c in calls_in(source, "pages/x.py", VALUE_WIDGETS)]
    assert kinds == [("dl_new", None), ("dl_seeds", "kept"), (None, "kept"), ("cm_doc", "pick"), ("dl_mech", "link"),
                     (None, None), ("ctar_new_folder", None), (None, "draft"), (None, None)]  # not a spec drawer here


def test_each_key_is_declared_one_way():
    calls = widget_calls(VALUE_WIDGETS)
    kept = {c.key for c in calls if c.kept and c.key}
    literal = {c.key for c in calls if not c.kept and c.key}
    assert kept & LINKED == set(), "a link-carried key is kept already: drop its kept_key"
    assert kept & set(PICKS) == set() and kept & literal == set(), "a key drawn both kept and not"
    assert set(PICKS) <= literal, f"PICKS names keys no widget draws: {set(PICKS) - literal}"
    assert set(PICKS) & (LINKED | set(SIDEBAR_KEYS)) == set()
    assert {(c.file, c.function) for c in calls if kind_of(c) == "spec"} == SPEC_DRAWN  # no stale entry


def test_spec_drawn_widgets_are_the_links_settings():
    """The keys the spec drawers compute are among the ones the links carry (and so the ones a page switch keeps)."""
    from core.ctar.config import FORM_FIELDS
    from core.equal.settings import PAGE_SETTINGS

    bandit = {s.key for s in PAGE_SETTINGS} | {s.rule_key for s in PAGE_SETTINGS if s.word is not None}
    assert bandit <= set(link_keys("bandit"))
    assert {f"ctar_{name}" for name in FORM_FIELDS} <= set(link_keys("ctar_generator"))
