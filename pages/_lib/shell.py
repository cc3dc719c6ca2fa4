"""The app's HTML shell, served with its backend base URL pinned, so a page's deep link probes only the root.

Streamlit's front end looks for its server at the page's own path first: opened at ``/bandit`` it
requests ``/bandit/_stcore/health`` and ``/bandit/_stcore/host-config`` (both 404, each logged by
the browser as a console error; Streamlit issue #7074), then ``/_stcore/health``, which answers. A
host that embeds Streamlit sets ``window.__streamlit.BACKEND_BASE_URL`` before the bundle loads, and
the front end then probes that URL alone. :func:`page_routes` serves Streamlit's own ``index.html``
at ``/`` and at each page's path with that one line added, naming the server's root; every other
path (assets, the ``_stcore`` API, an unknown page's fallback) stays Streamlit's. Under
``server.baseUrlPath`` (``explorer``) the root is ``/explorer/``: the shell is served at ``/explorer/``
and ``/explorer/<page>``, pinned to ``<origin>/explorer/``, and nothing is added at ``/``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

MODULE_SCRIPT = '<script type="module"'


def base_path(base_url_path: str) -> str:
    """The URL path of the server's root under Streamlit's ``server.baseUrlPath`` (slashes as Streamlit trims them).

    >>> base_path(""), base_path("explorer"), base_path("/tools/explorer/")
    ('/', '/explorer/', '/tools/explorer/')
    """
    trimmed = base_url_path.strip("/")
    return f"/{trimmed}/" if trimmed else "/"


def pin_script(base_url_path: str = "") -> str:
    """The line that pins the front end's backend to this server's root, whatever host name or port the browser used.

    >>> pin_script("explorer")
    '<script>window.__streamlit = {BACKEND_BASE_URL: window.location.origin + "/explorer/"}</script>\\n    '
    """
    # a JSON string is a JavaScript string literal; "<" escaped so no path can close the script element
    root = json.dumps(base_path(base_url_path)).replace("<", "\\u003c")
    return f"<script>window.__streamlit = {{BACKEND_BASE_URL: window.location.origin + {root}}}</script>\n    "


def pinned_shell(html: str, base_url_path: str = "") -> str:
    """``html`` with the base-URL pin placed before the first module script (which reads it on load).

    >>> pinned_shell('<head><script type="module" src="x.js"></script></head>').count("BACKEND_BASE_URL")
    1
    """
    at = html.find(MODULE_SCRIPT)
    if at < 0:
        raise ValueError("Streamlit's index.html has no module script to pin the base URL before; "
                         "serve.py needs updating for this Streamlit version")
    return html[:at] + pin_script(base_url_path) + html[at:]


@cache
def _shell(base_url_path: str) -> str:
    from streamlit import file_util

    index = (Path(file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8")
    return pinned_shell(index, base_url_path)


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


def page_routes(pages_dir: Path, base_url_path: str = "") -> list[BaseRoute]:
    """Routes that serve the pinned shell at the root and at ``<root><page>`` for each page in ``pages_dir``.

    The root is ``/``, or ``/<base_url_path>/`` when Streamlit serves under ``server.baseUrlPath``.

    >>> [r.path for r in page_routes(Path(__file__).resolve().parents[1], "explorer")][:2]
    ['/explorer/', '/explorer/bandit']
    """
    root = base_path(base_url_path)

    async def serve_shell(request: Request) -> HTMLResponse:
        # no-cache, as Streamlit serves index.html: a new Streamlit version's asset names are picked up
        return HTMLResponse(_shell(base_url_path), headers={"Cache-Control": "no-cache"})

    paths = [root] + [f"{root}{name}" for name in page_url_paths(pages_dir)]
    return [Route(path, serve_shell, methods=["GET", "HEAD"]) for path in paths]
