"""The server entry point: ``streamlit run serve.py`` serves ``app.py`` with one page-link fix.

A page's deep link (``/bandit``) opened directly makes Streamlit's front end probe the page path as
a base URL first (``/bandit/_stcore/health``, ``/bandit/_stcore/host-config``; both 404, each a
console error) and then the root, which answers. The front end reads its base URL from
``window.__streamlit.BACKEND_BASE_URL`` when a host sets it, and then probes the root only. So the
app's HTML is served here with that one line set to the server's root; everything else, the static
fallback for every other path included, is Streamlit's own. Under ``--server.baseUrlPath explorer``
the root is ``/explorer/``: the pinned HTML is served at ``/explorer/`` and ``/explorer/<page>`` and
names ``<origin>/explorer/``. The option is read when this file is imported (``streamlit run`` has
loaded its flags, config.toml and environment by then); a change to it needs a restart, as Streamlit's
own routes do.
"""

from __future__ import annotations

import faulthandler
import signal
from pathlib import Path

import streamlit as st
from streamlit import config

from pages._lib.shell import page_routes

ROOT = Path(__file__).resolve().parent
if hasattr(signal, "SIGUSR1"):  # `kill -USR1 <server pid>`: every thread's stack to the server's log (a hung page)
    faulthandler.register(signal.SIGUSR1, all_threads=True)

app = st.App(ROOT / "app.py", routes=page_routes(ROOT / "pages", config.get_option("server.baseUrlPath") or ""))
