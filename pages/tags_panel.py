"""The Corpus map's saved selections ("tags"): name the selection, show tags on the map, export them, start a
bandit run from one (the Bandit page offers each tag as its reference task). Storage: :mod:`core.corpus.tags`."""

from __future__ import annotations

import streamlit as st

from core.corpus.tags import TagError, TagStore, tag_membership, tag_names, tagged_ids
from core.csv_safe import to_safe_csv
from core.text import md_escape
from pages import common

S = st.session_state


def shown_ids(corpus) -> tuple[str, ...]:
    """The documents of the tags chosen to show on the map (the map stars them)."""
    return tagged_ids(TagStore(corpus.content_hash).tags(), S.get("cm_tags_shown", []))


def _save(corpus, frame, selected: list[str]) -> None:
    try:
        TagStore(corpus.content_hash).save(S.get("cm_tag_name", ""), selected, known=frame["doc_id"],
                                           replace=False)
        S["cm_tag_saved"] = S.get("cm_tag_name", "")
        S["cm_tag_name"] = ""
    except (TagError, OSError) as exc:
        S["cm_tag_error"] = exc


def save_selection(corpus, frame, selected: list[str]) -> None:
    """Under the selected documents: a name and Save tag."""
    n1, n2 = st.columns([3, 1], vertical_alignment="bottom")
    n1.text_input("Name this selection", key="cm_tag_name", max_chars=60, placeholder="e.g. date parsing")
    n2.button("Save tag", key="cm_tag_save", on_click=_save, args=(corpus, frame, selected), width="stretch")
    if "cm_tag_error" in S:
        common.show_error(S.pop("cm_tag_error"), "Could not save the tag")
    elif "cm_tag_saved" in S:
        st.success(f"Saved the tag “{md_escape(S.pop('cm_tag_saved'))}”. The Bandit page offers it as a "
                   "reference task.")


def show(corpus, frame) -> None:
    """The corpus's tags: which to star on the map, an export of all of them, and delete."""
    store = TagStore(corpus.content_hash)
    tags = store.tags()
    st.subheader(f"Tags ({len(tags)})")
    if not tags:
        st.caption("Select documents on the map, name the selection and save it as a tag: tags stay with this "
                   "corpus, show on the map and can be the reference task of a bandit run.")
        return
    names = tag_names(tags)
    S["cm_tags_shown"] = tag_names(tags, among=S.get("cm_tags_shown", []))  # a deleted tag is no longer shown
    t1, t2, t3, t4 = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
    t1.multiselect("Star on the map", names, key=common.kept_key("cm_tags_shown"))
    t2.download_button("Export the tags (CSV)", to_safe_csv(tag_membership(frame, tags)), "tags.csv", "text/csv",
                       width="stretch")
    t3.selectbox("Delete a tag", names, index=None, key="cm_tag_delete", placeholder="choose a tag")
    t4.button("Delete", key="cm_tag_delete_go", on_click=_delete, args=(store,), width="stretch",
              disabled=not S.get("cm_tag_delete"))


def _delete(store: TagStore) -> None:
    store.delete(S.get("cm_tag_delete") or "")
    S["cm_tag_delete"] = None
