"""Which server-side paths a browser may name: the app is safe to share by default.

Two settings, both read from the environment at call time:

``EQUALCTAR_ROOTS``
    Folders (separated by ``os.pathsep``, ``:`` on Linux) under which a path typed on a page
    may point. Default: the working directory the app was started in and the product home
    (:func:`core.settings.home_dir`, the caches). A path is resolved *after following every
    symbolic link* and must then lie inside one root, so ``root/link -> /etc`` is refused.
``EQUALCTAR_SERVER_PATHS``
    Who may name server paths at all: ``local`` (default) lets only a browser on this machine
    (a loopback peer address) type a path; everybody else is offered uploads only. ``all`` is
    the opt-in for a trusted network (paths still only under the roots); ``off`` offers
    uploads only, to everybody (use it behind a reverse proxy on the same host, where every
    visitor arrives from a loopback address).

The server binds to ``127.0.0.1`` (``.streamlit/config.toml``), so by default nobody else can
reach it; ``make run HOST=0.0.0.0`` is the opt-in to listen on the network. The command line
is exempt: whoever runs it already reads files as themselves.

A refusal never says whether the path exists (so a remote user cannot probe the disk), and
folder listings only ever name files inside an allowed root.

One gate: a path a page was given passes :func:`gate` (who may name paths, then the roots),
and every file a reader opens inside an allowed folder passes :func:`check_path` (the roots,
links followed) before it is opened. Pages draw their path boxes with
``pages.common.path_input``, which calls :func:`gate`; ``tests/faults/test_path_gate.py``
finds every text box in ``pages/`` and ``app.py`` and fails on one that does not.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

from core.settings import home_dir

__all__ = [
    "PathNotAllowedError",
    "SERVER_PATH_POLICIES",
    "allowed_roots",
    "check_path",
    "gate",
    "gate_model",
    "check_model_files",
    "is_model_path",
    "inside",
    "is_local_client",
    "peer_address",
    "is_under_roots",
    "require_server_paths",
    "server_path_policy",
    "server_paths_allowed",
]

SERVER_PATH_POLICIES = ("local", "all", "off")


class PathNotAllowedError(ValueError):
    """A path outside the configured roots, or a client that may not name server paths."""


def allowed_roots() -> tuple[Path, ...]:
    """The resolved folders under which page-given paths may point (``EQUALCTAR_ROOTS`` or cwd + home)."""
    raw = os.environ.get("EQUALCTAR_ROOTS", "").strip()
    if raw:
        entries = [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]
    else:
        entries = [Path.cwd(), home_dir()]
    return tuple(dict.fromkeys(p.resolve() for p in entries))


def is_under_roots(path: str | Path, roots: tuple[Path, ...] | None = None) -> bool:
    """Whether ``path``, with every link followed, lies inside one of ``roots``."""
    roots = allowed_roots() if roots is None else roots
    try:
        real = Path(path).expanduser().resolve()
    except (OSError, RuntimeError):  # a link loop resolves to nothing readable
        return False
    return any(real == root or real.is_relative_to(root) for root in roots)


def check_path(path: str | Path, roots: tuple[Path, ...] | None = None) -> Path:
    """Return ``path`` resolved (links followed) if it lies under an allowed root, else raise.

    Raises
    ------
    PathNotAllowedError
        The path (or where its links lead) is outside every root. The message names the
        setting, never a server folder the user did not type, nor whether the path exists.
    """
    roots = allowed_roots() if roots is None else roots
    text = str(path).strip()
    if not text:
        raise PathNotAllowedError("no path given")
    if "\x00" in text:
        raise PathNotAllowedError("a path cannot hold a NUL character")
    if not is_under_roots(text, roots):
        raise PathNotAllowedError(f"{text}: {OUTSIDE_ROOTS}")
    return Path(text).expanduser().resolve()


OUTSIDE_ROOTS = ("only paths under the allowed folders can be read from a page (the folder the app was started "
                 "in and its cache, or those EQUALCTAR_ROOTS names); upload the file instead, or start the app "
                 "with EQUALCTAR_ROOTS naming the folder")


def gate(path: str | Path, client_ip: str | None, roots: tuple[Path, ...] | None = None) -> Path:
    """The gate of every server path a page was given: the browser may name paths at all
    (:func:`require_server_paths`), and the path lies under the roots (:func:`check_path`).

    Returns the path resolved, links followed; raises :class:`PathNotAllowedError` otherwise.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> gate(root / "notes.txt", None, (root.resolve(),)) == (root / "notes.txt").resolve()
    True
    >>> gate("/etc/passwd", None, (root.resolve(),))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    core.access.PathNotAllowedError: /etc/passwd: only paths under the allowed folders can be read from a page ...
    >>> gate(root / "notes.txt", "192.0.2.7", (root.resolve(),))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    core.access.PathNotAllowedError: this app is shared on a network: ...
    """
    require_server_paths(client_ip)
    return check_path(path, roots)


def gate_model(name: str, client_ip: str | None, roots: tuple[Path, ...] | None = None) -> str:
    """A model typed on a page: a folder through :func:`gate`; a name (``org/model``, read from the
    local model cache, never fetched: ``HF_HUB_OFFLINE``) as it is, once the browser may name paths.

    A name that starts like a path (``/``, ``.``, ``~``) or names an existing folder is a path. The files
    inside are checked by :func:`check_model_files` when the model is loaded (once, not on every page run).
    """
    require_server_paths(client_ip)
    text = name.strip()
    return str(check_path(text, roots)) if is_model_path(text) else text


def is_model_path(name: str) -> bool:
    """Whether a model name is a folder on this machine (else a name in the local model cache)."""
    return name.startswith(("/", ".", "~")) or Path(name).expanduser().exists()


def check_model_files(folder: str | Path, roots: tuple[Path, ...] | None = None) -> None:
    """Before a model folder is loaded: every file and folder in it, links followed, lies under the roots
    (the loader opens them). Raises :class:`PathNotAllowedError`, also past :data:`MODEL_FOLDER_ENTRIES`."""
    seen = 0
    for dirpath, dirnames, filenames in os.walk(folder):  # a link to a folder is not walked into, but checked
        for entry in (*dirnames, *filenames):
            check_path(Path(dirpath) / entry, roots)
            seen += 1
            if seen > MODEL_FOLDER_ENTRIES:
                raise PathNotAllowedError(f"{folder}: holds over {MODEL_FOLDER_ENTRIES:,} files and folders, "
                                          "more than a model folder does")


MODEL_FOLDER_ENTRIES = 5_000


def inside(folder: str | Path, name: str, roots: tuple[Path, ...] | None) -> Path:
    """``folder/name``, checked by :func:`check_path` with its links followed when ``roots`` is given
    (a page's read); as it is when ``roots`` is ``None`` (the command line)."""
    path = Path(folder).expanduser() / name
    return path if roots is None else check_path(path, roots)


def is_local_client(ip: str | None) -> bool:
    """Whether a browser's peer address is this machine (``None`` is what Streamlit reports for
    ``127.0.0.1``/``::1`` and for a script run outside a server)."""
    if ip is None or ip == "":
        return True
    try:
        return ipaddress.ip_address(ip.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def peer_address(context: Any) -> str | None:
    """The peer address in a Streamlit ``st.context`` (``None``: this machine, or no real request)."""
    try:
        ip = context.ip_address
    except Exception:  # a bare script run has no request
        return None
    return ip if isinstance(ip, str) else None  # AppTest answers with a mock: no real peer


def server_path_policy() -> str:
    """``EQUALCTAR_SERVER_PATHS`` (``local``, ``all`` or ``off``; default ``local``); anything else is an error."""
    raw = os.environ.get("EQUALCTAR_SERVER_PATHS", "local").strip().lower() or "local"
    if raw not in SERVER_PATH_POLICIES:
        raise PathNotAllowedError(
            f"EQUALCTAR_SERVER_PATHS must be one of {', '.join(SERVER_PATH_POLICIES)}, got {raw!r}"
        )
    return raw


def require_server_paths(client_ip: str | None) -> None:
    """Raise :class:`PathNotAllowedError` (saying to upload instead) unless ``client_ip`` may name paths."""
    if not server_paths_allowed(client_ip):
        raise PathNotAllowedError(
            "this app is shared on a network: files on the server cannot be named from a browser here; "
            "upload the file instead (the server's owner can allow it with EQUALCTAR_SERVER_PATHS=all)"
        )


def server_paths_allowed(client_ip: str | None, policy: str | None = None) -> bool:
    """Whether a browser at ``client_ip`` may type server-side paths (else it gets uploads only).

    >>> server_paths_allowed(None, "local"), server_paths_allowed("192.0.2.7", "local")
    (True, False)
    >>> server_paths_allowed("192.0.2.7", "all"), server_paths_allowed(None, "off")
    (True, False)
    """
    try:
        policy = server_path_policy() if policy is None else policy
    except PathNotAllowedError:
        return False  # a mistyped setting fails closed
    if policy == "all":
        return True
    if policy == "off":
        return False
    return is_local_client(client_ip)
