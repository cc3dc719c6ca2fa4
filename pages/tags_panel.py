"""The Corpus map's saved selections ("tags"): name the selection, show tags on the map, export them, rename and
delete them, start a bandit run from one (the Bandit page offers each tag as its reference task). Storage:
:mod:`core.corpus.tags`."""

from __future__ import annotations

import streamlit as st

from core.corpus.tags import MAX_NAME, TagError, TagStore, current_names, tag_membership, tag_names, tagged_ids
from core.csv_safe import to_safe_csv
from core.text import md_escape
from pages import common

S = st.session_state


def shown_ids(corpus) -> tuple[str, ...]:
    """The documents of the tags chosen to show on the map (the map stars them)."""
    tags = TagStore(corpus.content_hash).tags()
    return tagged_ids(tags, current_names(tags, S.get("cm_tags_shown", [])))


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
    n1.text_input("Name this selection", key="cm_tag_name", max_chars=MAX_NAME, placeholder="e.g. date parsing")
    n2.button("Save tag", key="cm_tag_save", on_click=_save, args=(corpus, frame, selected), width="stretch")
    if "cm_tag_error" in S:
        common.show_error(S.pop("cm_tag_error"), "Could not save the tag")
    elif "cm_tag_saved" in S:
        st.success(f"Saved the tag “{md_escape(S.pop('cm_tag_saved'))}”. The Bandit page offers it as a "
                   "reference task.")


def show(corpus, frame) -> None:
    """The corpus's tags: which to star on the map, an export of all of them, rename and delete."""
    store = TagStore(corpus.content_hash)
    tags = store.tags()
    st.subheader(f"Tags ({len(tags)})")
    if not tags:
        st.caption("Select documents on the map, name the selection and save it as a tag: tags stay with this "
                   "corpus, show on the map and can be the reference task of a bandit run.")
        return
    names = tag_names(tags)
    # a tag renamed (here or in another session) is followed under its new name; a deleted one is no longer shown
    S["cm_tags_shown"] = current_names(tags, S.get("cm_tags_shown", []))
    for key in ("cm_tag_delete", "cm_tag_rename"):
        if S.get(key) is not None:
            S[key] = next(iter(current_names(tags, [S[key]])), None)
    t1, t2, t3, t4 = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
    t1.multiselect("Star on the map", names, key=common.kept_key("cm_tags_shown"))
    t2.download_button("Export the tags (CSV)", to_safe_csv(tag_membership(frame, tags)), "tags.csv", "text/csv",
                       width="stretch")
    t3.selectbox("Delete a tag", names, index=None, key="cm_tag_delete", placeholder="choose a tag")
    t4.button("Delete", key="cm_tag_delete_go", on_click=_delete, args=(store,), width="stretch",
              disabled=not S.get("cm_tag_delete"))
    rename_row(store, names)


def rename_row(store: TagStore, names: list[str]) -> None:
    """Pick a tag, type its new name, Rename; a name refused is said, and the name typed is kept to be changed."""
    r1, r2, r3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    r1.selectbox("Rename a tag", names, index=None, key="cm_tag_rename", placeholder="choose a tag")
    r2.text_input("New name", key="cm_tag_new_name", max_chars=MAX_NAME, placeholder="e.g. date parsing")
    r3.button("Rename", key="cm_tag_rename_go", on_click=_rename, args=(store,), width="stretch",
              disabled=not S.get("cm_tag_rename"))
    if "cm_tag_rename_error" in S:
        common.show_error(S.pop("cm_tag_rename_error"), "Could not rename the tag")
    elif "cm_tag_renamed" in S:
        old, new = S.pop("cm_tag_renamed")
        st.success(f"Renamed the tag “{md_escape(old)}” to “{md_escape(new)}”: the map's stars, the export and the "
                   "Bandit page's reference task use the new name.")


def _rename(store: TagStore) -> None:
    old = S.get("cm_tag_rename") or ""
    try:
        tag = store.rename(old, S.get("cm_tag_new_name", ""))
    except (TagError, OSError) as exc:
        S["cm_tag_rename_error"] = exc
        return
    S["cm_tag_renamed"] = (old, tag.name)
    S["cm_tag_rename"] = None
    S["cm_tag_new_name"] = ""


def _delete(store: TagStore) -> None:
    store.delete(S.get("cm_tag_delete") or "")
    S["cm_tag_delete"] = None
