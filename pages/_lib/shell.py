"""The app's HTML shell, served with its backend base URL pinned, so a page's deep link probes only the root.

Streamlit's front end looks for its server at the page's own path first: opened at ``/bandit`` it
requests ``/bandit/_stcore/health`` and ``/bandit/_stcore/host-config`` (both 404, each logged by
the browser as a console error; Streamlit issue #7074), then ``/_stcore/health``, which answers. A
host that embeds Streamlit sets ``window.__streamlit.BACKEND_BASE_URL`` before the bundle loads, and
the front end then probes that URL alone. :func:`page_routes` serves Streamlit's own ``index.html``
at ``/`` and at each page's path with that one line added, naming the server's root; every other
path (assets, the ``_stcore`` API, an unknown page's fallback) stays Streamlit's.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

MODULE_SCRIPT = '<script type="module"'
# the root of this server, whatever host name or port the browser used
PIN = '<script>window.__streamlit = {BACKEND_BASE_URL: window.location.origin + "/"}</script>\n    '


def pinned_shell(html: str) -> str:
    """``html`` with the base-URL pin placed before the first module script (which reads it on load).

    >>> pinned_shell('<head><script type="module" src="x.js"></script></head>').count("BACKEND_BASE_URL")
    1
    """
    at = html.find(MODULE_SCRIPT)
    if at < 0:
        raise ValueError("Streamlit's index.html has no module script to pin the base URL before; "
                         "serve.py needs updating for this Streamlit version")
    return html[:at] + PIN + html[at:]


@cache
def _shell() -> str:
    from streamlit import file_util

    return pinned_shell((Path(file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8"))


async def _serve_shell(request: Request) -> HTMLResponse:
    # no-cache, as Streamlit serves index.html: a new Streamlit version's asset names are picked up
    return HTMLResponse(_shell(), headers={"Cache-Control": "no-cache"})


def page_url_paths(pages_dir: Path) -> list[str]:
    """The URL path of every page script in ``pages_dir`` (app.py names each page by its file name).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for name in ("bandit.py", "tour.py", "__init__.py", "notes.txt"):
    ...         _ = (Path(d) / name).write_text("")
    ...     page_url_paths(Path(d))
    ['bandit', 'tour']
    """
    return sorted(p.stem for p in pages_dir.glob("*.py") if not p.name.startswith("_"))


def page_routes(pages_dir: Path) -> list[BaseRoute]:
    """Routes that serve the pinned shell at ``/`` and at ``/<page>`` for each page in ``pages_dir``."""
    paths = ["/"] + [f"/{name}" for name in page_url_paths(pages_dir)]
    return [Route(path, _serve_shell, methods=["GET", "HEAD"]) for path in paths]
