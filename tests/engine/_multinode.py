"""Child process of test_multinode.py: a simulated multi-node Ray cluster on this machine, a node killed mid-job.

``python -m tests.engine._multinode OUT`` starts ``ray.cluster_utils.Cluster`` with a head that runs
no tasks (0 CPUs) and two worker nodes of 1 CPU each (sized for a 2-core CI machine), then:

1. ``ctar``: a streamed CTAR run on Ray whose block 2 pauses on its node; that node is killed (not
   gracefully) in the middle; with one try per block the block is left missing, and rerunning
   ``generate_stream`` on the surviving node finishes the job. The output is compared with a local run.
2. ``extract``: a replacement node joins; ``extract_all_ray`` over 24 documents whose batch holding
   ``d009`` pauses on its node; that node is killed; the batch is retried on another node. Then the
   same command again (nothing left to do). The pairs are compared with the local engine's.

Prints one JSON line of findings; the test asserts on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

MB = 1024 * 1024


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def _kill_when_marked(cluster, marker: Path, found: dict, timeout: float = 240.0) -> threading.Thread:
    """A thread that waits for ``marker`` (node id and pid), kills that worker process and its node at once,
    then writes ``marker.seen``."""

    def watch() -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = marker.read_text().split() if marker.exists() else []
            if len(text) == 2:
                node_id, pid = text[0], int(text[1])
                victims = [n for n in cluster.worker_nodes if n.node_id == node_id]
                found["killed"] = bool(victims)
                os.kill(pid, signal.SIGKILL)  # the machine goes: its worker processes with it
                for node in victims:
                    cluster.remove_node(node, allow_graceful=False)
                Path(f"{marker}.seen").write_text("killed")
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def run_ctar(cluster, out: Path) -> dict:
    from core.ctar.mechanisms import PopularityExposure
    from core.ctar.sampler import plan_sample
    from core.ctar.stream import StreamError, generate_stream, open_output, written_blocks
    from core.engine.ray_engine import RayConfig
    from core.engine.ray_jobs import ray_block_runner, run_ctar_blocks_ray
    from tests.ctar.conftest import small_config
    from tests.engine._engine_data import ExposureThatStops

    config = small_config(n_users=200, chunk_pairs=12_000)  # 5 blocks of 40 users
    marker, found = out / "ctar-node", {}
    pausing = plan_sample(config, exposure=ExposureThatStops(PopularityExposure.from_config(config), user=80,
                                                             marker=str(marker), pause=120))
    open_output(pausing, out / "ray")
    watcher = _kill_when_marked(cluster, marker, found)
    first = run_ctar_blocks_ray(pausing, range(5), out / "ray", lambda d, t: None, RayConfig(workers=2),
                                max_attempts=1)
    watcher.join(5)
    after_kill = sorted(written_blocks(out / "ray"))
    try:  # the same command with nothing run: the missing block is named
        generate_stream(config, out / "ray", runner=lambda *args: {}, engine="ray")
    except StreamError as exc:
        refused = str(exc)
    else:
        refused = ""
    rerun = generate_stream(config, out / "ray", runner=ray_block_runner(RayConfig(workers=2)), engine="ray")
    generate_stream(config, out / "local")
    return {"killed": found.get("killed", False), "first": sorted(first), "after_kill": after_kill,
            "missing_named": refused, "rerun_written": rerun.written, "rerun_skipped": rerun.skipped,
            "same_as_local": _digest(out / "ray") == _digest(out / "local")}


def run_extract(cluster, out: Path) -> dict:
    from core.engine.local import ExtractorSpec, extract_all_local
    from core.engine.ray_engine import RayConfig, extract_all_ray
    from core.engine.sink import PairSink
    from tests.engine._engine_data import PauseOnce, qa_corpus

    corpus = qa_corpus(24, seed=4)
    docs = list(zip(corpus.ids, corpus.texts))
    marker, found = out / "extract-node", {}
    sink = PairSink(out / "ray.sqlite")
    watcher = _kill_when_marked(cluster, marker, found)
    report = extract_all_ray(docs, PauseOnce("d009", str(marker), pause=120), sink, RayConfig(workers=2),
                             batch_docs=4)
    watcher.join(5)
    again = extract_all_ray(docs, ExtractorSpec("rules"), sink, RayConfig(workers=2), batch_docs=4)
    local = PairSink(out / "local.sqlite")
    extract_all_local(docs, ExtractorSpec("rules"), local, batch_docs=4)
    frame = sink.pairs_frame()
    return {"killed": found.get("killed", False), "retries": report.task_retries, "docs_done": sink.totals().docs_done,
            "rerun_batches": again.batches_run, "duplicates": int(frame.duplicated(["doc_id", "pair_index"]).sum()),
            "same_as_local": bool(frame.equals(local.pairs_frame())), "failed": len(sink.failures_frame())}


def main(out: Path) -> None:
    import ray
    from ray.cluster_utils import Cluster

    root = str(Path(__file__).resolve().parents[2])
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": 80 * MB,
                                                            "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1, object_store_memory=80 * MB)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": root}})
    try:
        found = {"nodes": len([n for n in ray.nodes() if n["Alive"]]), "ctar": run_ctar(cluster, out)}
        cluster.add_node(num_cpus=1, object_store_memory=80 * MB)  # the replacement for the killed node
        cluster.wait_for_nodes()
        found["extract"] = run_extract(cluster, out)
    finally:
        ray.shutdown()
        cluster.shutdown()
    print(json.dumps(found))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
