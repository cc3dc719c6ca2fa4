"""Fault injection against file access: the app shared on a network must not serve the disk.

Replays issue #15's most severe probe: Streamlit listened on all interfaces and the sidebar's
"Local file or folder" accepted any path, so a remote browser read a canary file outside the
project (its words as cluster keywords, its text in "Selection as JSONL") and a folder path
listed every file in it by name. The browser tests start the real app and connect from a
second address (the machine's non-loopback one).
"""

from __future__ import annotations

import json
import socket
import subprocess
import tomllib
from contextlib import contextmanager
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import access
from core.corpus.load import load_corpus
from tests._app_server import healthy, serve_app

ROOT = Path(__file__).resolve().parents[2]
CANARY = "zebracanary quokkacanary"


@pytest.fixture()
def layout(tmp_path: Path, monkeypatch):
    """``allowed/`` is the only root; ``outside/`` holds a canary; ``allowed/link`` points at it."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (outside / "id_rsa.txt").write_text(f"{CANARY} private text")
    (allowed / "doc.txt").write_text("An allowed document about parsing dates.")
    (allowed / "link.txt").symlink_to(outside / "id_rsa.txt")
    (allowed / "dirlink").symlink_to(outside)
    monkeypatch.setenv("EQUALCTAR_ROOTS", str(allowed))
    return allowed, outside


def test_paths_outside_the_roots_are_refused_after_following_links(layout) -> None:
    allowed, outside = layout
    assert access.check_path(allowed / "doc.txt") == (allowed / "doc.txt").resolve()
    for bad in (outside / "id_rsa.txt", allowed / "link.txt", allowed / "dirlink", allowed / ".." / "outside",
                Path("/etc/passwd")):
        with pytest.raises(access.PathNotAllowedError, match="only paths under the allowed folders"):
            access.check_path(bad)


def test_refusal_does_not_say_whether_a_path_exists(layout) -> None:
    _, outside = layout
    messages = []
    for p in (outside / "id_rsa.txt", outside / "nothing-here.txt"):
        with pytest.raises(access.PathNotAllowedError) as info:
            load_corpus(p, roots=access.allowed_roots())
        messages.append(str(info.value).replace(str(p), "<p>"))
    assert messages[0] == messages[1]


def test_folder_load_never_reads_or_names_outside_targets(layout) -> None:
    allowed, _ = layout
    corpus, report = load_corpus(allowed, roots=access.allowed_roots())
    assert corpus.sources == ("doc.txt",)
    assert not any(CANARY.split()[0] in t for t in corpus.texts)
    listing = json.dumps(report.issues)
    assert "id_rsa" not in listing  # the target's name never appears, only the link's
    assert ("outside_roots", "link.txt") in [(k, loc) for k, loc, _ in report.issues]
    # the command line is exempt (no roots): it reads the link as the user who runs it
    cli_corpus, _ = load_corpus(allowed)
    assert any(CANARY.split()[0] in t for t in cli_corpus.texts)


def test_default_roots_are_the_working_directory_and_the_home(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("EQUALCTAR_ROOTS", raising=False)
    monkeypatch.chdir(tmp_path)
    from core.settings import home_dir

    assert access.allowed_roots() == (tmp_path.resolve(), home_dir().resolve())


@pytest.mark.parametrize("ip, policy, allowed", [
    (None, "local", True), ("127.0.0.2", "local", True), ("::1", "local", True),
    ("192.0.2.7", "local", False), ("10.1.2.3", "local", False), ("fd00::5", "local", False),
    ("not-an-ip", "local", False), ("192.0.2.7", "all", True), (None, "off", False),
])
def test_who_may_name_server_paths(ip, policy, allowed) -> None:
    assert access.server_paths_allowed(ip, policy) is allowed


def test_a_mistyped_policy_fails_closed(monkeypatch) -> None:
    monkeypatch.setenv("EQUALCTAR_SERVER_PATHS", "yes please")
    assert access.server_paths_allowed(None) is False
    with pytest.raises(access.PathNotAllowedError, match="EQUALCTAR_SERVER_PATHS"):
        access.server_path_policy()


def test_page_refuses_a_path_outside_the_roots(layout, monkeypatch) -> None:
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing")
    _, outside = layout
    at = AppTest.from_file(str(ROOT / "pages" / "corpus_map.py"), default_timeout=120)
    at.session_state["sb_source"] = "Local file or folder"
    at.session_state["sb_path"] = str(outside / "id_rsa.txt")
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "only paths under the allowed folders" in shown
    assert CANARY.split()[0] not in json.dumps([c.proto.spec for c in at.get("plotly_chart")])
    assert CANARY.split()[0].encode() not in b"".join(m.proto.bytes for m in at.get("bidi_component"))  # the map
    assert not at.get("download_button")


def test_config_and_makefile_bind_to_localhost_by_default() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] == "none"
    makefile = (ROOT / "Makefile").read_text()
    assert "HOST   ?= 127.0.0.1" in makefile and "--server.address $(HOST)" in makefile


# ------------------------------------------------------------------ a second address, real server


def _second_address() -> str | None:
    """A non-loopback address of this machine (the one a LAN visitor would use), if any."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            ip = s.getsockname()[0]
    except OSError:
        ip = ""
    if not ip or ip.startswith("127."):
        try:
            out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
        except (OSError, subprocess.SubprocessError):
            out = []
        ip = next((a for a in out if "." in a and not a.startswith("127.")), "")
    return ip or None


@contextmanager
def _serve(home: Path, address: str | None):
    """The app with the repository's config; ``address=None`` keeps its default bind address."""
    with serve_app(home, env={"EQUALCTAR_BUILTIN_LIMIT": "300"}, unset=["EQUALCTAR_SERVER_PATHS"],
                   address=address) as (_, port):
        yield port


@pytest.mark.slow
def test_default_server_is_not_reachable_from_a_second_address(tmp_path) -> None:
    second = _second_address()
    if second is None:
        pytest.skip("this machine has no non-loopback address to connect from")
    with _serve(tmp_path, None) as port:
        assert healthy(f"http://127.0.0.1:{port}")
        assert not healthy(f"http://{second}:{port}"), "the default server listens beyond localhost"


@pytest.mark.browser
def test_remote_browser_gets_uploads_only(tmp_path, page, output_dir) -> None:
    second = _second_address()
    if second is None:
        pytest.skip("this machine has no non-loopback address to connect from")
    with _serve(tmp_path, "0.0.0.0") as port:
        sources = {}
        for name, host in (("local", "127.0.0.1"), ("remote", second)):
            page.goto(f"http://{host}:{port}/")
            page.get_by_text("Upload a file").first.wait_for(timeout=60_000)
            page.screenshot(path=str(output_dir / f"faults_access_{name}.png"))
            sources[name] = page.get_by_text("Local file or folder").count()
    assert sources["local"] >= 1, "a browser on this machine should be offered server paths"
    assert sources["remote"] == 0, "a browser from another address was offered server paths"


def test_uploads_stop_where_the_loader_does_at_1_gb() -> None:
    """Streamlit's own upload limit is the loader's (SECURITY.md: 1 GB), not Streamlit's default 200/500 MB."""
    from core.corpus.load import DEFAULT_LIMITS

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] << 20 == DEFAULT_LIMITS.max_total_bytes == 1 << 30
