"""How a page shows a failure: bad input named, a bug as one line and an id (:mod:`core.errors`)."""

from __future__ import annotations

import streamlit as st

from core.errors import describe_failure
from core.text import md_escape


def show_error(exc: BaseException, what: str | None = None) -> str | None:
    """Bad input as ``"<what>: <message>"``; a bug as one line and an id (:mod:`core.errors`)."""
    error_id, message = describe_failure(exc, what)
    st.error(md_escape(message), icon="⚠️")  # a message may quote a file's name or a link's value
    return error_id
