"""A room of sessions: what N people opening the Corpus map at once cost the one app server.

Starts one server as ``make run`` does (``.venv/bin/streamlit run serve.py --server.address
127.0.0.1 --server.headless true``, ``HF_HUB_OFFLINE=1``, ``TOKENIZERS_PARALLELISM=false``) on a
free port with a fresh ``EQUALCTAR_HOME``; what ``make setup`` prepares (the static tier, the
built-in corpus and its first map, inside the virtualenv) is made first if it is missing. The
clients are light: Streamlit's own websocket protocol (``/_stcore/stream``, the ``BackMsg`` and
``ForwardMsg`` protobuf classes of ``streamlit.proto``) spoken directly, one asyncio task per
session, so the machine's CPU goes to the server, not to browsers. Each session

1. asks for the default page (the Corpus map) and waits for its script run to finish with the
   map's chart among the elements (``open`` = seconds from connecting to the chart received);
2. types a search (the ``cm_query`` widget, a rerun of the search panel's fragment, as the
   browser sends it) and waits for that run to finish with the matches listed;
3. stays connected, answering the page's timed fragment reruns as a browser would, until the
   measurement is taken.

Phases: the server idle; ONE session alone (the first visitor: its cost includes whatever the
server loads once); then ``--sessions`` N more together. Measured from ``/proc``: the
server's resident memory (its process and children) and CPU seconds (utime + stime, reaped
children included). The MiniLM upgrade worker, a separate process the first open starts (see
``core.corpus.upgrade``), is measured apart and left out of the server's figures; the bench
waits for it to finish (``--upgrade-limit``) between the first session and the N, so the N
meet the app as it stays for the rest of its life: the MiniLM map, shared.

Errors: exception elements, ``st.error`` alerts, websocket failures and timeouts. Last line
``bench_load=sessions:N,rss_per_session:..MB,cpu_per_session:..s,slowest_open:..s,errors:E
goal=<=50MB,<=3s,<=10s,0 PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP_KEY = "corpus_map_webgl"  # the Corpus map's WebGL component key (pages/corpus_map.py MAP_KEY)
QUERY_KEY = "cm_query"  # the search panel's text input
QUERIES = ("parse a date from a string", "open a network socket", "sort a list in place", "read a csv file")
GOALS = {"rss_mb": 50.0, "cpu_s": 3.0, "open_s": 10.0, "errors": 0}


# --- the client: one session over Streamlit's websocket -----------------------------------------------------------

@dataclass
class SessionResult:
    """What one client saw: seconds to the map and to the search's answer, and every error by name."""

    index: int
    open_s: float | None = None
    search_s: float | None = None
    map_bytes: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.open_s is not None and self.search_s is not None and not self.errors


class StreamlitSession:
    """A browser's side of ``/_stcore/stream`` reduced to what the bench needs (no rendering)."""

    def __init__(self, url: str, result: SessionResult, timeout_s: float) -> None:
        self.url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.result = result
        self.timeout_s = timeout_s
        self.ws = None
        self.widgets: dict[str, object] = {}  # widget id -> WidgetState proto sent with every rerun
        self.auto: dict[str, float] = {}  # fragment id -> seconds between the reruns the page asked for
        self.elements: list[tuple[str, str, str, object]] = []  # (kind, widget id, fragment id, element)
        self._seen: float | None = None  # when the awaited element arrived
        self._wait_for: str | None = None

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, subprotocols=["streamlit"], max_size=None, open_timeout=self.timeout_s)

    async def rerun(self, fragment_id: str = "", auto: bool = False, wait_for: str | None = None) -> float | None:
        """Send one rerun request; read until its run finishes. Returns when (``time.perf_counter()``)
        an element whose widget id ends with ``wait_for`` arrived (None when it never did)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.fragment_id, state.is_auto_rerun = fragment_id, auto
        for widget in self.widgets.values():
            state.widget_states.widgets.add().CopyFrom(widget)
        await self.ws.send(msg.SerializeToString())
        return await self._read_run(wait_for)

    async def _read_run(self, wait_for: str | None) -> float | None:
        self.elements, self._seen, self._wait_for = [], None, wait_for
        while True:
            status = self._process(await asyncio.wait_for(self.ws.recv(), self.timeout_s))
            if status is not None:
                return self._seen

    def _process(self, raw: bytes) -> int | None:
        """One ForwardMsg: elements and errors noted, poll timers kept; the status when a run finished
        (``None`` while it goes on, and for a run cut short by ``st.rerun()``: the next run follows on its own)."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        fm = ForwardMsg()
        fm.ParseFromString(raw)
        kind = fm.WhichOneof("type")
        if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
            _, el = self._element(fm)
            if self._wait_for and self._seen is None and str(getattr(el, "id", "")).endswith("-" + self._wait_for):
                self._seen = time.perf_counter()
                self.result.map_bytes = max(self.result.map_bytes, len(raw))
        elif kind == "auto_rerun":
            self.auto[fm.auto_rerun.fragment_id] = fm.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fid in fm.stop_auto_rerun.fragment_ids:
                self.auto.pop(fid, None)
        elif kind == "script_finished":
            if fm.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                self.result.errors.append("script did not compile")
            if fm.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return int(fm.script_finished)
        return None

    def _element(self, fm) -> tuple[str, object]:
        from streamlit.proto.Alert_pb2 import Alert

        new = fm.delta.new_element
        kind = new.WhichOneof("type")
        el = getattr(new, kind)
        self.elements.append((kind, str(getattr(el, "id", "")), fm.delta.fragment_id, el))
        if kind == "exception":
            self.result.errors.append(f"exception: {el.type}: {el.message}"[:200])
        elif kind == "alert" and el.format == Alert.ERROR:
            self.result.errors.append(f"error shown: {el.body}"[:200])
        return kind, el

    def widget(self, key: str) -> tuple[str, str] | None:
        """``(widget id, fragment id)`` of the last run's widget with user key ``key``."""
        for _, wid, fid, _ in self.elements:
            if wid.endswith("-" + key):
                return wid, fid
        return None

    async def search(self, query: str) -> float | None:
        """Type ``query`` into the search box: the panel's fragment reruns, as the browser asks it to."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        found = self.widget(QUERY_KEY)
        if found is None:
            self.result.errors.append("no search box on the page")
            return None
        wid, fid = found
        self.widgets[wid] = WidgetState(id=wid, string_value=query)
        t0 = time.perf_counter()
        await self.rerun(fragment_id=fid)
        if not any(k == "markdown" and "Nearest documents to" in el.body for k, _, _, el in self.elements):
            self.result.errors.append(f"no matches listed for {query!r}")
            return None
        return time.perf_counter() - t0

    async def hold(self, release: asyncio.Event) -> None:
        """Stay on the page until ``release`` as a browser does: read what the server sends, and send the
        timed reruns fragments asked for without waiting on them (a fragment a full run dropped gets no
        answer at all)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        due: dict[str, float] = {}
        while not release.is_set():
            now = time.perf_counter()
            for fid, every in list(self.auto.items()):
                if due.setdefault(fid, now + every) <= now:
                    msg = BackMsg()
                    msg.rerun_script.fragment_id, msg.rerun_script.is_auto_rerun = fid, True
                    for widget in self.widgets.values():
                        msg.rerun_script.widget_states.widgets.add().CopyFrom(widget)
                    await self.ws.send(msg.SerializeToString())
                    due[fid] = now + every
            try:
                self._process(await asyncio.wait_for(self.ws.recv(), 0.25))
            except TimeoutError:
                pass

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def visit(url: str, index: int, release: asyncio.Event, opened: asyncio.Event | None = None,
                timeout_s: float = 120.0) -> SessionResult:
    """One visitor: open the Corpus map, search once, stay until ``release`` (``opened`` set when done)."""
    result = SessionResult(index)
    session = StreamlitSession(url, result, timeout_s)
    try:
        t0 = time.perf_counter()
        await session.connect()
        seen = await session.rerun(wait_for=MAP_KEY)
        if seen is None:
            result.errors.append("the map never arrived")
        else:
            result.open_s = seen - t0
        result.search_s = await session.search(QUERIES[index % len(QUERIES)])
        if opened is not None:
            opened.set()
        await session.hold(release)
    except TimeoutError:
        result.errors.append(f"timed out after {timeout_s:.0f} s")
    except Exception as exc:  # noqa: BLE001 - every websocket failure counts as one error, named
        result.errors.append(f"{type(exc).__name__}: {exc}"[:200])
    finally:
        if opened is not None:
            opened.set()
        try:
            await session.close()
        except Exception:  # noqa: BLE001 - closing a broken socket is not another error
            pass
    return result


async def visit_all(url: str, n: int, first_index: int = 0, timeout_s: float = 120.0,
                    while_open=None) -> list[SessionResult]:
    """``n`` visitors at once; once every one has opened and searched, ``while_open()`` (a function or a
    coroutine function: the measurement) runs while all are still connected, then they leave."""
    release = asyncio.Event()
    opened = [asyncio.Event() for _ in range(n)]
    tasks = [asyncio.create_task(visit(url, first_index + i, release, opened[i], timeout_s)) for i in range(n)]
    await asyncio.gather(*(e.wait() for e in opened))
    if while_open is not None:
        await asyncio.sleep(1.0)  # the last run's tail settles
        done = while_open()
        if asyncio.iscoroutine(done):
            await done
    release.set()
    return list(await asyncio.gather(*tasks))


def run_sessions(url: str, n: int, first_index: int = 0, timeout_s: float = 120.0,
                 while_open=None) -> list[SessionResult]:
    """:func:`visit_all` from synchronous code (the bench and its test), on a thread of its own: a caller's
    thread may already have an event loop (a test process that ran Streamlit's AppTest does)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, visit_all(url, n, first_index, timeout_s, while_open)).result()


# --- the server and its cost, from /proc ---------------------------------------------------------------------------

def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from ``/proc/<pid>/task/*/children``)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int, reaped: bool = False) -> float:
    """utime + stime of ``pid`` (its threads included); with ``reaped`` also its waited-for children's."""
    fields = _stat(pid)
    return sum(int(v) for v in fields[11:15 if reaped else 13]) / os.sysconf("SC_CLK_TCK")


def _alive(pid: int) -> bool:
    try:
        return _stat(pid)[0] != "Z"
    except OSError:
        return False


@dataclass
class Sample:
    """The server's memory and CPU at one moment, the upgrade worker's apart."""

    rss_mb: float
    cpu_s: float
    worker_rss_mb: float
    worker_cpu_s: float


class Server:
    """The app as ``make run`` serves it, on a free port and a fresh home; :meth:`sample` reads its cost."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.worker_cpu_seen: dict[int, float] = {}  # worker pid -> its CPU seconds when last seen alive

    def start(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = dict(os.environ, EQUALCTAR_HOME=str(self.home), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        for name in ("EQUALCTAR_ENCODER", "EQUALCTAR_BUILTIN_LIMIT", "EQUALCTAR_PROGRESSIVE"):
            env.pop(name, None)  # the product's defaults, as make run has them
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/streamlit"), "run", "serve.py", "--server.address", "127.0.0.1", "--server.port",
             str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=open(self.home / "streamlit.log", "w"), stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited: {(self.home / 'streamlit.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.25)
        raise RuntimeError("streamlit did not answer /_stcore/health within 120 s")

    def worker_pids(self) -> list[int]:
        pids = []
        for pid_file in (self.home / "upgrades").glob("*/worker.pid"):
            try:
                pids.append(int(pid_file.read_text()))
            except (OSError, ValueError):
                pass
        return pids

    def sample(self) -> Sample:
        """Server = its process + live children, minus the upgrade workers (and their children), measured apart.

        A worker the server has reaped adds its CPU to the server's ``cutime``; that share is taken off.
        """
        pid = self.proc.pid
        workers = set(self.worker_pids())
        kids = descendants(pid)
        worker_tree = {w for w in workers if _alive(w)}
        for w in list(worker_tree):
            worker_tree.update(descendants(w))
        w_rss = sum(rss_mb(p) for p in worker_tree if _alive(p))
        for w in workers:
            if _alive(w):
                self.worker_cpu_seen[w] = cpu_s(w, reaped=True)
        w_cpu = sum(self.worker_cpu_seen.values())
        others = [p for p in kids if p not in worker_tree and _alive(p)]
        reaped_workers = sum(c for w, c in self.worker_cpu_seen.items() if not _alive(w))
        server_cpu = cpu_s(pid, reaped=True) + sum(cpu_s(p, reaped=True) for p in others)
        server_cpu -= min(reaped_workers, cpu_s(pid, reaped=True) - cpu_s(pid))
        return Sample(rss_mb(pid) + sum(rss_mb(p) for p in others), server_cpu, w_rss, w_cpu)

    def upgrade_state(self) -> str | None:
        import json

        states = []
        for job in (self.home / "upgrades").glob("*/job.json"):
            try:
                states.append(json.loads((job.parent / "status.json").read_text()).get("state", "starting"))
            except (OSError, ValueError):
                states.append("starting")
        if not states:
            return None
        return "failed" if "failed" in states else "running" if any(s != "done" for s in states) else "done"

    def stop(self) -> None:
        """The server, and any upgrade worker still running (its own session: it would outlive the server)."""
        workers = [w for w in self.worker_pids() if _alive(w)]
        for w in workers:
            try:
                os.kill(w, 15)  # the worker stops after its current chunk
            except OSError:
                pass
        deadline = time.time() + 10
        while any(_alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.25)
        for w in workers:
            if _alive(w):
                try:
                    os.kill(w, 9)
                except OSError:
                    pass
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def ensure_setup() -> None:
    """What ``make setup`` prepares for a first open, made here only if missing (the static tier, then the
    built-in corpus and its first map)."""
    sys.path.insert(0, str(ROOT))
    from core.corpus.encoders import static_model_ready

    py = str(ROOT / ".venv/bin/python")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if not static_model_ready():
        subprocess.run([py, "-m", "core.corpus", "distill", "--setup"], cwd=ROOT, env=env, check=True)
    from core.corpus.mapping import setup_maps_dir

    if not any(setup_maps_dir().glob("*/done")):
        subprocess.run([py, "-m", "core.corpus", "prepare", "--setup"], cwd=ROOT, env=env, check=True)


# --- the phases ------------------------------------------------------------------------------------------------------

async def _settle(server: Server, limit_s: float, peaks: dict) -> str:
    """While the first session stays on the page: wait for the upgrade worker to finish (its peak memory and
    CPU into ``peaks``), then for the server to go quiet (the map rebuilt with MiniLM). Returns a note."""
    t0 = time.perf_counter()
    state = server.upgrade_state()
    while state == "running" and time.perf_counter() - t0 < limit_s:  # starting counts as running
        s = server.sample()
        peaks["rss"] = max(peaks.get("rss", 0.0), s.worker_rss_mb)
        peaks["cpu"] = s.worker_cpu_s
        await asyncio.sleep(1.0)
        state = server.upgrade_state()
    waited = time.perf_counter() - t0
    if state is None:
        return "no background upgrade was started"
    if state != "done":
        return f"background upgrade unfinished after {waited:.0f} s (--upgrade-limit): the N met the static map"
    peaks["cpu"] = server.sample().worker_cpu_s
    last, quiet_since = server.sample().cpu_s, None
    while time.perf_counter() - t0 < limit_s + 300:
        await asyncio.sleep(2.0)
        now = server.sample().cpu_s
        quiet_since = (quiet_since or time.perf_counter()) if now - last < 0.2 else None
        last = now
        if quiet_since is not None and time.perf_counter() - quiet_since >= 4.0:
            break
    return f"background upgrade done {waited:.0f} s after the first open; the map switched to MiniLM"


def _fmt(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    return f"{max(got):.2f}" if got else "n/a"


def _row(name: str, n: int, before: Sample, after: Sample, results: list[SessionResult]) -> str:
    errors = sum(len(r.errors) for r in results)
    return (f"{name:<24}{n:>9}{after.rss_mb:>14.0f}{after.rss_mb - before.rss_mb:>+10.1f}{after.cpu_s:>13.1f}"
            f"{after.cpu_s - before.cpu_s:>+9.1f}{_fmt([r.open_s for r in results]):>14}"
            f"{_fmt([r.search_s for r in results]):>16}{errors:>8}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=20, help="sessions opened together after the first (default 20)")
    ap.add_argument("--upgrade-limit", type=float, default=600.0,
                    help="seconds to wait for the MiniLM upgrade between the first session and the N (default 600)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds a session waits for one answer")
    args = ap.parse_args()
    ensure_setup()
    home = Path(tempfile.mkdtemp(prefix="bench-load-"))
    server = Server(home)
    peaks: dict = {}
    try:
        server.start()
        time.sleep(2.0)
        idle = server.sample()
        marks: dict[str, Sample] = {}
        notes: list[str] = []

        async def first_settles() -> None:
            notes.append(await _settle(server, args.upgrade_limit, peaks))
            marks["one"] = server.sample()

        one = run_sessions(server.url, 1, 0, args.timeout, while_open=first_settles)
        room = run_sessions(server.url, args.sessions, 1, args.timeout,
                            while_open=lambda: marks.__setitem__("room", server.sample()))
    finally:
        server.stop()
    return report(args.sessions, idle, marks, one, room, peaks, notes)


def report(n: int, idle: Sample, marks: dict[str, Sample], one: list[SessionResult], room: list[SessionResult],
           peaks: dict, notes: list[str]) -> int:
    """The table, the worker's line, the ratio against one session alone, and the bench line."""
    one_s, room_s = marks.get("one", idle), marks.get("room", marks.get("one", idle))
    print(f"{'phase':<24}{'sessions':>9}{'server MB':>14}{'+MB':>10}{'server CPU s':>13}{'+CPU s':>9}"
          f"{'slowest open':>14}{'slowest search':>16}{'errors':>8}")
    print(f"{'server idle':<24}{0:>9}{idle.rss_mb:>14.0f}{'':>10}{idle.cpu_s:>13.1f}")
    print(_row("one session alone", 1, idle, one_s, one))
    print(_row(f"{n} sessions together", n, one_s, room_s, room))
    print(f"server = the streamlit process and its children, the MiniLM upgrade worker left out; "
          f"{'; '.join(notes) or 'the first session did not settle'}")
    print(f"upgrade worker (separate process, measured apart): peak {peaks.get('rss', 0.0):.0f} MB RSS, "
          f"{peaks.get('cpu', 0.0):.1f} CPU-s")
    for r in one + room:
        for e in r.errors[:3]:
            print(f"  session {r.index}: {e}")
    rss_one, cpu_one = one_s.rss_mb - idle.rss_mb, one_s.cpu_s - idle.cpu_s
    rss_per, cpu_per = (room_s.rss_mb - one_s.rss_mb) / n, (room_s.cpu_s - one_s.cpu_s) / n
    ratio = lambda a, b: f"{a / b:.2f}x" if b > 0 else "n/a"
    print(f"per-session cost at N={n} vs one session alone: memory {ratio(rss_per, rss_one)} "
          f"({rss_per:.1f} vs {rss_one:.1f} MB), CPU {ratio(cpu_per, cpu_one)} ({cpu_per:.2f} vs {cpu_one:.2f} s)")
    slowest = max((r.open_s for r in room if r.open_s is not None), default=float("inf"))
    errors = sum(len(r.errors) for r in one + room)
    ok = (rss_per <= GOALS["rss_mb"] and cpu_per <= GOALS["cpu_s"] and slowest <= GOALS["open_s"]
          and errors <= GOALS["errors"] and "room" in marks)
    print(f"bench_load=sessions:{n},rss_per_session:{rss_per:.1f}MB,cpu_per_session:{cpu_per:.2f}s,"
          f"slowest_open:{slowest:.1f}s,errors:{errors} goal=<=50MB,<=3s,<=10s,0 {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
