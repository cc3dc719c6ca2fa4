"""EQUAL against Random, Avg-sim and an oracle, with ground truth that does not come from the method.

On-task is decided by PROVENANCE, never by an embedding: a document is on-task for a preset
reference set when it comes from one of the modules that preset is about (:data:`PROVENANCE`;
the built-in corpus is harvested docstrings whose ids carry their module, e.g. ``json.dumps``),
and an on-task pair is a pair the rule extractor takes from an on-task document.

1. Standard case: the built-in corpus (embedded, cached), k-means (k = sqrt(n/2), faiss, seed
   42), W2 neighbour graph (threshold 0.2); every document extracted once with the rule
   extractor (replay). Per preset, each policy is replayed until it holds 50% of the on-task
   pairs; the figure is its extraction calls (one per document). Goal: Random/EQUAL >= 5x
   (geometric mean over the 6 presets). Also printed: on-task pairs held at a 5% budget.
2. Similarity and usefulness part ways ("decoy" case, preset files-and-os): the built-in documents
   not about files/OS (``--decoy-sample N``: a seeded sample of them) plus two regions of real
   text from this machine's /usr/share: a decoy region that speaks the reference's vocabulary but
   answers nothing (man-page NAME indexes of file tools, FAQ tables of contents, changelogs of
   coreutils/findutils/tar/...) and a rich region of answered FAQ entries (lsof: open files,
   procps: processes), on-task by provenance. Under MiniLM the decoys look more like D_r than the
   FAQ entries do (printed). Figure: on-task pairs held at a 5% budget. Goal: EQUAL >= 1.5x Avg-sim.

Policies, each over 5 seeds (``--seeds N``; Avg-sim is deterministic): Random, Avg-sim (documents by mean
cosine to D_r), EQUAL with RunConfig's defaults (credit per document read, similarity prior
weighted by the rewards' variances: ``unplayed="eb"``, a cluster's documents read most similar
first, a neighbour's pull counted a quarter), and EQUAL one setting away from them: documents
in a random order, full neighbour sharing, a fixed prior weight (``"prior"``), credit per pair,
credit per pull (the paper's reward), no prior (``"mean"``); the defaults of the round before
(random order and full sharing), the defaults before issue #13 (also per-pull credit, fixed
prior); EQUAL with the paper's settings (per-pull credit, unplayed 0, first pull D, empty pull
0, random order, full sharing); and the
arm-level oracle on the provenance label (clusters densest in on-task pairs first: the ceiling
of any cluster policy at this clustering).

``--encoder hashing`` (default when EQUALCTAR_BENCH_ENCODER is unset: the packaged MiniLM)
swaps in the fast word-hashing encoder; the encoder used is printed. Last line:
``bench_equal=<Random/EQUAL> decoy=<EQUAL/Avg-sim> ... PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from core.corpus.builtin import load_builtin_corpus  # noqa: E402
from core.corpus.cluster import cluster_w2_distances, kmeans, neighbour_graph  # noqa: E402
from core.corpus.embed import embed_corpus, embed_texts  # noqa: E402
from core.corpus.encoders import DEFAULT_MODEL, load_encoder  # noqa: E402
from core.equal.extract import make_extractor  # noqa: E402
from core.equal.ontask import PROVENANCE, is_on_task  # noqa: E402
from core.equal.reference import list_presets, load_reference  # noqa: E402
from core.equal.replay import PrecomputedExtractor, extract_all, table_embedder  # noqa: E402
from core.equal.reward import OTReward  # noqa: E402
from core.equal.run import BanditRun, RunConfig, single_thread_blas  # noqa: E402
from core.equal.space import ArmSpace  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)
GOAL_RANDOM, GOAL_DECOY, SHARE = 5.0, 1.5, 0.05
DOC = Path("/usr/share/doc")
DECOY_ON_TASK = ("FAQ/lsof", "FAQ/procps")  # the decoy case's on-task region: answered FAQ entries


# ---------------------------------------------------------------- real text for the decoy case
def _read(path: Path) -> str:
    return gzip.open(path, "rt", errors="replace").read() if path.suffix == ".gz" else path.read_text(errors="replace")


def man_index(per_doc: int = 12) -> list[tuple[str, str]]:
    """``name - what it does`` lines of the man pages (sections 1, 8) whose description speaks of files."""
    words = re.compile(
        r"\b(files?|director(?:y|ies)|paths?|disks?|permissions?|owners?|archives?|copy|move|rename|"
        r"links?|mount|filesystems?)\b",
        re.IGNORECASE,
    )
    entries = []
    for path in sorted(Path("/usr/share/man/man1").glob("*.gz")) + sorted(Path("/usr/share/man/man8").glob("*.gz")):
        if path.name.startswith("gcloud"):
            continue  # thousands of near-identical cloud-SDK pages would swamp the index
        try:
            head = gzip.open(path, "rt", errors="replace").read(3000)
        except (OSError, EOFError):
            continue
        m = re.search(r"^\.SH\s+\"?NAME\"?\s*\n(?:\.\w+.*\n)*(.+?)\n\.", head, re.MULTILINE | re.DOTALL)
        line = re.sub(r"\s+", " ", re.sub(r"\\f[BIRP]|\\&", "", m.group(1)).replace("\\-", "-")).strip() if m else ""
        if " - " in line and not line.startswith(".") and len(line) < 160 and words.search(line.split(" - ", 1)[1]):
            entries.append(line)
    entries = sorted(dict.fromkeys(entries))
    return [
        (f"man-index#{k}", "\n".join(entries[i : i + per_doc])) for k, i in enumerate(range(0, len(entries), per_doc))
    ]


def faq_contents(per_doc: int = 15) -> list[tuple[str, str]]:
    """The tables of contents of the lsof and sed FAQs: questions without their answers."""
    out = []
    for name, path, first in (("lsof", "lsof/00FAQ.gz", r"^1\.0\s"), ("sed", "sed/sedfaq.txt.gz", r"^1\. GENERAL")):
        lines = _read(DOC / path).split("\n")
        hits = [i for i, ln in enumerate(lines) if re.match(first, ln)]
        toc = [ln for ln in lines[hits[0] : hits[1]] if ln.strip()]
        out += [(f"toc/{name}#{k}", "\n".join(toc[i : i + per_doc])) for k, i in enumerate(range(0, len(toc), per_doc))]
    return out


def changelogs(words: int = 120, cap: int = 40) -> list[tuple[str, str]]:
    """Chunks of the changelogs and NEWS of file tools."""
    out = []
    for pkg in ("coreutils", "findutils", "tar", "e2fsprogs", "util-linux", "rsync", "gzip"):
        for name in ("changelog.gz", "changelog.Debian.gz", "NEWS.gz"):
            if (DOC / pkg / name).exists():
                toks = _read(DOC / pkg / name).split()
                chunks = [" ".join(toks[i : i + words]) for i in range(0, len(toks), words)][:cap]
                out += [(f"changelog/{pkg}/{name}#{k}", c) for k, c in enumerate(chunks)]
    return out


def faq_entries(per_doc: int = 2) -> list[tuple[str, str]]:
    """Answered FAQ entries of lsof (open files) and procps (processes), ``per_doc`` entries a document."""
    lines = _read(DOC / "lsof/00FAQ.gz").split("\n")
    body_start = [i for i, ln in enumerate(lines) if re.match(r"^1\.0\s", ln)][1]  # the first is in the contents
    body = [i for i, ln in enumerate(lines) if i >= body_start and re.match(r"^\d+\.\d+(?:\.\d+)*\s", ln)]
    lsof = ["\n".join(lines[a:b]).strip() for a, b in zip(body, body[1:] + [len(lines)])]
    procps = [e.strip() for e in re.split(r"\n(?=\S[^\n]*\?\n)", _read(DOC / "procps/FAQ.gz")) if e.strip()]
    out = []
    for name, entries in (("lsof", lsof), ("procps", procps)):
        out += [
            (f"FAQ/{name}#{k}", "\n\n".join(entries[i : i + per_doc]))
            for k, i in enumerate(range(0, len(entries), per_doc))
        ]
    return out


# ---------------------------------------------------------------- setup and replay
@dataclass
class Setup:
    """One corpus ready to replay: ids, embeddings ``(n, d)``, labels ``(n,)``, neighbours, pairs and their vectors."""

    ids: list[str]
    emb: np.ndarray
    labels: np.ndarray
    neighbours: np.ndarray
    pairs: dict
    table: dict


def make_setup(ids: list[str], texts: list[str], emb: np.ndarray, encoder) -> Setup:
    k = int(min(200, max(2, round(math.sqrt(len(ids) / 2)))))
    labels = kmeans(emb, k, seed=42).labels
    neighbours = neighbour_graph(cluster_w2_distances(emb, labels, k), 0.2)
    pairs = extract_all(ids, texts, make_extractor("rules"))
    uniq = list(dict.fromkeys(p.as_text() for ps in pairs.values() for p in ps))
    return Setup(list(ids), emb, labels, neighbours, pairs, dict(zip(uniq, embed_texts(uniq, encoder))))


def oracle_calls(labels, per_doc_on: np.ndarray, target: float) -> float:
    """Calls an arm-level oracle (clusters by on-task density, each in turn) needs for ``target`` on-task pairs."""
    labels = np.asarray(labels)
    sizes = np.bincount(labels)
    on = np.bincount(labels, weights=per_doc_on, minlength=len(sizes))
    dens = np.divide(on, sizes, out=np.zeros(len(sizes)), where=sizes > 0)
    order = np.argsort(-dens, kind="stable")
    cum_docs, cum_on = np.cumsum(sizes[order]), np.cumsum(on[order])
    i = int(np.searchsorted(cum_on, target))
    if i >= len(order):
        return float(len(labels))
    before_docs, before_on = (cum_docs[i - 1], cum_on[i - 1]) if i else (0, 0.0)
    return float(before_docs + (target - before_on) / dens[order[i]])


def oracle_pairs(labels, per_doc_on: np.ndarray, calls: float) -> float:
    """On-task pairs the arm-level oracle holds after ``calls`` documents."""
    labels = np.asarray(labels)
    sizes = np.bincount(labels)
    on = np.bincount(labels, weights=per_doc_on, minlength=len(sizes))
    order = np.argsort(-np.divide(on, sizes, out=np.zeros(len(sizes)), where=sizes > 0), kind="stable")
    cum_docs, cum_on = np.cumsum(sizes[order]), np.cumsum(on[order])
    i = int(np.searchsorted(cum_docs, calls))
    if i >= len(order):
        return float(cum_on[-1])
    before_docs, before_on = (cum_docs[i - 1], cum_on[i - 1]) if i else (0, 0.0)
    return float(before_on + (calls - before_docs) * on[order[i]] / sizes[order[i]])


def replay(
    config: RunConfig, s: Setup, ref: np.ndarray, on_doc: set[str], target: int | None, share: float
) -> tuple[float, float]:
    """Replay one policy; return (calls to hold ``target`` on-task pairs, on-task pairs held at ``share`` budget)."""
    space = ArmSpace(s.ids, None, s.labels, neighbours=s.neighbours, doc_emb=s.emb)
    run = BanditRun(replace(config, budget=1.0), space, ref, PrecomputedExtractor(s.pairs), table_embedder(s.table))
    got, seen, calls, at_share = 0, 0, None, None
    cut = math.ceil(share * len(s.ids))
    with single_thread_blas():
        while not run.is_done and ((target is not None and calls is None) or at_share is None):
            run.play_pull()
            new = run.ledger.pairs[seen:]
            seen = len(run.ledger.pairs)
            got += sum(p.doc_id in on_doc for p in new)
            if target is not None and calls is None and got >= target:
                calls = run.calls
            if at_share is None and run.docs_done >= cut:
                at_share = got
    return (calls if calls is not None else run.calls), float(at_share if at_share is not None else got)


def policy_configs(base: RunConfig) -> dict[str, RunConfig]:
    pull = replace(base.reward, credit="pull")
    shuffled = replace(base, doc_order="random", neighbour_weight=1.0)  # how the paper reads clusters and shares
    paper = replace(shuffled, unplayed="zero", first_pull_docs=None, reward=replace(pull, empty_reward=0.0))
    return {
        "random": replace(base, policy="random"),
        "avg-sim": replace(base, policy="avg-sim"),
        "EQUAL": base,
        "EQUAL random order": replace(base, doc_order="random"),
        "EQUAL full sharing": replace(base, neighbour_weight=1.0),
        "EQUAL fixed prior": replace(base, unplayed="prior"),
        "EQUAL pair credit": replace(base, reward=replace(base.reward, credit="pair")),
        "EQUAL pull credit": replace(base, reward=pull),
        "EQUAL no prior": replace(base, unplayed="mean"),
        "EQUAL last round": shuffled,
        "EQUAL before #13": replace(shuffled, unplayed="prior", reward=pull),
        "EQUAL paper": paper,
    }


def run_case(
    name: str, s: Setup, ref: np.ndarray, prefixes: tuple[str, ...], base: RunConfig, target_share: float | None,
    seeds: tuple[int, ...] = SEEDS,
) -> dict[str, tuple[float, float]]:
    """Every policy on one case: ``{policy: (mean calls to target, mean on-task pairs at SHARE)}``, printed."""
    on_doc = {d for d in s.ids if is_on_task(d, prefixes)}
    per_doc_on = np.array([len(s.pairs[d]) if d in on_doc else 0 for d in s.ids], dtype=float)
    total = float(per_doc_on.sum())
    target = math.ceil(target_share * total) if target_share else None
    res = {}
    for pol, cfg in policy_configs(base).items():
        runs = (0,) if pol == "avg-sim" else seeds
        out = [replay(replace(cfg, seed=sd), s, ref, on_doc, target, SHARE) for sd in runs]
        res[pol] = (float(np.mean([c for c, _ in out])), float(np.mean([p for _, p in out])))
    budget = math.ceil(SHARE * len(s.ids))
    res["oracle"] = (
        oracle_calls(s.labels, per_doc_on, target) if target else float("nan"),
        oracle_pairs(s.labels, per_doc_on, budget),
    )
    print(
        f"\n[{name}] {len(on_doc)} on-task documents by provenance ({len(on_doc) / len(s.ids):.1%}), "
        f"{total:.0f} on-task pairs" + (f"; target {target} (50%)" if target else "")
    )
    for pol, (calls, pairs) in res.items():
        head = f"{calls:8.0f} calls to 50% on-task ({calls / len(s.ids):5.1%} of corpus); " if target else ""
        print(f"  {pol:>18}: {head}{pairs:7.1f} on-task pairs at a {SHARE:.0%} budget ({budget} calls)")
    return res


def build_decoy_case(corpus, encoder, ref: np.ndarray, sample: int | None) -> tuple[Setup, dict[str, int]]:
    """The built-in documents that are *not* about files and the OS (all, or a seeded ``sample``), a decoy region
    and a rich region of real text; prints how similar each region looks to ``D_r``.

    The os/pathlib/... docstrings are left out: they are both the most similar to the reference and
    answerable, so with them in, ranking by similarity is right and the case would not test where it is wrong.
    """
    on = {i for i, d in enumerate(corpus.ids) if is_on_task(d, PROVENANCE["files-and-os"])}
    rest = [i for i in range(len(corpus)) if i not in on]
    if sample is not None:
        pick = np.random.default_rng(7).choice(len(rest), size=min(sample, len(rest)), replace=False)
        rest = sorted(rest[i] for i in pick)
    corpus = corpus.subset(rest, name="builtin-off-task")
    decoy = man_index() + faq_contents() + changelogs()
    rich = faq_entries()
    extra = decoy + rich
    ids = list(corpus.ids) + [i for i, _ in extra]
    texts = list(corpus.texts) + [t for _, t in extra]
    all_emb = embed_texts(texts, encoder)
    s = make_setup(ids, texts, all_emb, encoder)
    sim = (all_emb @ ref.T).mean(axis=1)
    n = len(corpus.ids)
    regions = {"decoy": slice(n, n + len(decoy)), "rich FAQ": slice(n + len(decoy), len(ids))}
    print(
        f"\n[decoy case] +{len(decoy)} decoy documents (man index, FAQ contents, changelogs), +{len(rich)} FAQ entries"
    )
    for label, part in regions.items():
        yielded = sum(1 for d in ids[part] if s.pairs[d])
        print(
            f"  {label:>9}: mean cosine to D_r {sim[part].mean():.3f}, {yielded}/{len(ids[part])} documents yield pairs"
        )
    print(f"  {'docstrings':>9}: mean cosine to D_r {sim[:n].mean():.3f} ({n} built-in documents not about files/OS)")
    return s, {"decoy": len(decoy), "rich": len(rich)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoder", default=os.environ.get("EQUALCTAR_BENCH_ENCODER", DEFAULT_MODEL))
    ap.add_argument("--presets", default=",".join(list_presets()))
    ap.add_argument("--no-decoy", action="store_true", help="skip the similarity-vs-usefulness case")
    ap.add_argument(
        "--decoy-sample",
        type=int,
        default=None,
        help="decoy case on the on-task documents plus this many other built-in documents (seeded)",
    )
    ap.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds per policy (0, 1, ...)")
    args = ap.parse_args()
    seeds = tuple(range(args.seeds))
    t0 = time.time()
    corpus = load_builtin_corpus()
    encoder = load_encoder(args.encoder)
    base = RunConfig(reward=OTReward())
    print(
        f"encoder: {encoder.name}; built-in corpus: {len(corpus):,} documents; EQUAL: B={base.batch_arms}, "
        f"D={base.docs_per_pull}, first pull {base.first_pull_docs}, unplayed={base.unplayed}, "
        f"credit={base.reward.credit}, empty pull={base.reward.empty_reward} (credit=pull)"
    )
    presets = [p for p in args.presets.split(",") if p]
    std = (
        make_setup(list(corpus.ids), list(corpus.texts), np.asarray(embed_corpus(corpus, encoder)), encoder)
        if presets
        else None
    )
    ratios: dict[str, list[float]] = {pol: [] for pol in [*policy_configs(base), "oracle"] if pol != "EQUAL"}
    for preset in presets:
        ref = embed_texts(load_reference(preset).texts(), encoder)
        res = run_case(preset, std, ref, PROVENANCE[preset], base, 0.5, seeds)
        for pol in ratios:
            ratios[pol].append(res[pol][0] / res["EQUAL"][0])
    gm = {pol: float(np.exp(np.mean(np.log(r)))) if r else float("nan") for pol, r in ratios.items()}
    if presets:
        print(
            "\nstandard case, geometric mean of calls to 50% on-task / EQUAL's: "
            + ", ".join(f"{pol} {v:.2f}x" for pol, v in gm.items())
        )
    ok, decoy_ratio = (gm["random"] >= GOAL_RANDOM) if presets else True, float("nan")
    if not args.no_decoy:
        ref = embed_texts(load_reference("files-and-os").texts(), encoder)
        s, _ = build_decoy_case(corpus, encoder, ref, args.decoy_sample)
        res = run_case("decoy case: files-and-os", s, ref, DECOY_ON_TASK, base, None, seeds)
        decoy_ratio = res["EQUAL"][1] / max(res["avg-sim"][1], 1e-9)
        print(
            f"  on-task pairs at {SHARE:.0%} / Avg-sim's: "
            + ", ".join(f"{pol} {v[1] / max(res['avg-sim'][1], 1e-9):.2f}x" for pol, v in res.items())
        )
        ok = ok and decoy_ratio >= GOAL_DECOY
    print(f"total {time.time() - t0:.0f} s ({encoder.name}, {len(seeds)} seeds)")
    print(
        f"bench_equal={gm['random']:.2f} decoy={decoy_ratio:.2f} goal=random/EQUAL>={GOAL_RANDOM:.0f}x_and_"
        f"EQUAL/avg-sim>={GOAL_DECOY}x_on_decoy {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
