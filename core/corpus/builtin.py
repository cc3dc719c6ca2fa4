"""The built-in corpus: real documentation text harvested from the local Python installation.

Works offline on any machine with Python, and nobody on this team wrote it. Documents:

* docstrings of the public standard-library modules (``sys.stdlib_module_names`` and their
  public sub-modules, minus :data:`DENYLIST` and private ``_x`` names), of the public
  classes and functions they define, and of those classes' public methods;
* every ``pydoc_data.topics.topics`` entry (the language reference behind ``help()``);
* docstrings of the installed scientific packages in :data:`SCIENTIFIC_MODULES` (numpy,
  scipy's main sub-packages, pandas, scikit-learn, plotly.express) when importable.
  torch/transformers are left out on purpose (slow to import, huge and repetitive).

Rules: text = ``inspect.cleandoc(obj.__doc__)`` (own docstring, never inherited), kept when
it has at least :data:`MIN_CHARS` characters; an object reachable under several names is
harvested once (the first module in sorted order that exposes it); long texts are chunked
with :func:`core.corpus.chunking.split_words` (``max_words=200``, ids ``<name>#<k>``); exact
duplicate texts and chunks are dropped (first qualified name wins); documents are sorted by id.
``id`` = qualified name (``json.dumps``, ``pandas.DataFrame.merge``,
``pydoc_data.topics:assert``), ``source`` = the module it was found in.

Safety. Everything runs in-process (no subprocess): each import is wrapped in
``try/except``, with stdout/stderr captured and warnings silenced; modules known to open
windows, print, start things or hang on import are never imported (:data:`DENYLIST`).

Caching. The built corpus is written once as Parquet under
``core.settings.cache_dir("builtin")``, keyed by the Python version, the versions of the
harvested packages and :data:`HARVEST_VERSION`; later loads read that file (~0.1 s). ``make
setup`` harvests it once into the virtualenv (:func:`setup_builtin_path`), which a home without
its own copy reads, so a first open on a fresh ``EQUALCTAR_HOME`` harvests nothing; without
either file the corpus is harvested as before.

Measured here (Python 3.11, numpy/scipy/pandas/scikit-learn/plotly installed, 2 cores):
11,357 documents from 187 top-level modules (scipy 3,784, numpy 1,600, scikit-learn 1,519,
pandas 1,277, pydoc topics 364, plotly 240, the rest stdlib: builtins, asyncio, email,
logging, xml, socket, http, json, datetime, ...), 2-3.5 s for a cold build in a fresh process
(mostly imports), ~0.1 s from the cache.

Determinism. Two builds in one process are equal, and the order and ids never change. Across
processes a handful of texts can differ (about six here): scipy writes some docstrings at
import time with random example output or set order. The cache therefore is the reference:
build once, then every load on this machine returns the same corpus.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import inspect
import io
import os
import pkgutil
import sys
import threading
import types
import warnings
from pathlib import Path

from core.corpus.chunking import DEFAULT_MAX_WORDS, split_words
from core.corpus.load import Corpus
from core.disk import naming_disk_full
from core.settings import cache_dir

HARVEST_VERSION = "1"
MIN_CHARS = 120

DENYLIST: frozenset[str] = frozenset({
    # open windows or browsers, print on import, or need a GUI
    "antigravity", "this", "tkinter", "turtle", "turtledemo", "idlelib",
    # deprecated tooling, installers, self-tests
    "lib2to3", "ensurepip", "venv", "distutils", "test", "unittest.test", "ctypes.test",
    "pydoc_data",  # harvested separately (topics)
    # Windows-only or interactive/terminal-state modules
    "msilib", "winreg", "winsound", "msvcrt", "nt", "readline", "rlcompleter",
    "site", "sitecustomize", "usercustomize", "encodings",
})
SKIP_PARTS: frozenset[str] = frozenset({"__main__", "test", "tests", "idle_test", "testing", "conftest"})

SCIENTIFIC_MODULES: tuple[str, ...] = (
    "numpy", "numpy.linalg", "numpy.random", "numpy.fft", "numpy.polynomial", "numpy.ma",
    "scipy.stats", "scipy.optimize", "scipy.linalg", "scipy.signal", "scipy.sparse",
    "scipy.interpolate", "scipy.integrate", "scipy.spatial", "scipy.cluster", "scipy.ndimage",
    "scipy.fft", "scipy.special",
    "pandas", "pandas.plotting", "pandas.api.types",
    "sklearn.cluster", "sklearn.decomposition", "sklearn.ensemble", "sklearn.feature_extraction.text",
    "sklearn.impute", "sklearn.linear_model", "sklearn.manifold", "sklearn.metrics",
    "sklearn.mixture", "sklearn.model_selection", "sklearn.naive_bayes", "sklearn.neighbors",
    "sklearn.neural_network", "sklearn.pipeline", "sklearn.preprocessing", "sklearn.svm",
    "sklearn.tree",
    "plotly.express",
)
SCIENTIFIC_PACKAGES: tuple[str, ...] = ("numpy", "scipy", "pandas", "scikit-learn", "plotly")


def builtin_topic(source: str) -> str:
    """Coarse topic of a built-in document: the top-level module of its ``source``.

    >>> builtin_topic("xml.etree.ElementTree"), builtin_topic("pydoc_data.topics")
    ('xml', 'pydoc_data')
    """
    return source.split(":", 1)[0].split(".", 1)[0]


def _quiet_import(name: str) -> types.ModuleType | None:
    """Import ``name`` with output captured and warnings silenced; ``None`` when it fails."""
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(name)
        except (Exception, SystemExit):  # a module may raise anything on an unsupported platform
            return None


def _denied(name: str) -> bool:
    parts = name.split(".")
    if any(p.startswith("_") for p in parts) or any(p in SKIP_PARTS for p in parts):
        return True
    return any(".".join(parts[: i + 1]) in DENYLIST for i in range(len(parts)))


def _stdlib_module_names() -> list[str]:
    """Public stdlib modules and (recursively) their public sub-modules, sorted."""
    names: set[str] = set()
    todo = sorted(n for n in sys.stdlib_module_names if not _denied(n))
    while todo:
        name = todo.pop()
        module = _quiet_import(name)
        if module is None:
            continue
        names.add(name)
        path = getattr(module, "__path__", None)
        if path:
            for info in pkgutil.iter_modules(path, prefix=name + "."):
                if not _denied(info.name) and info.name not in names:
                    todo.append(info.name)
    return sorted(names)


def _doc(obj: object) -> str | None:
    raw = getattr(obj, "__doc__", None) if not isinstance(obj, (str, bytes, int, float)) else None
    if not isinstance(raw, str):
        return None
    text = inspect.cleandoc(raw).strip()
    return text if len(text) >= MIN_CHARS else None


def _public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        names = dir(module)
    return sorted({n for n in names if not n.startswith("_")})


def _harvest_module(name: str, module: types.ModuleType, seen: set[int], out: list[tuple[str, str, str]]) -> None:
    """Append ``(id, text, source)`` for the module, its classes/functions and their methods."""
    root = name.split(".", 1)[0]
    doc = _doc(module)
    if doc:
        out.append((name, doc, name))
    for attr in _public_names(module):
        try:
            # sys.excepthook & co. are often replaced at run time (pytest, streamlit); the
            # originals (sys.__excepthook__) keep the harvest independent of the host process
            obj = getattr(module, attr)
            if name == "sys" and callable(getattr(sys, f"__{attr}__", None)):
                obj = getattr(sys, f"__{attr}__")
        except Exception:
            continue
        if not (inspect.isclass(obj) or callable(obj)) or isinstance(obj, types.ModuleType):
            continue
        owner = getattr(obj, "__module__", None)  # None for e.g. numpy ufuncs
        if isinstance(owner, str) and owner != name and owner.split(".", 1)[0].lstrip("_") != root.lstrip("_"):
            continue  # re-exported from another package: harvested there
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        qual = f"{name}.{attr}"
        doc = _doc(obj)
        if doc:
            out.append((qual, doc, name))
        if inspect.isclass(obj):
            for meth_name, meth in sorted(vars(obj).items()):
                if meth_name.startswith("_"):
                    continue
                if isinstance(meth, (classmethod, staticmethod)):
                    meth = meth.__func__
                if not (callable(meth) or isinstance(meth, property)):
                    continue
                doc = _doc(meth)
                if doc:
                    out.append((f"{qual}.{meth_name}", doc, name))


def _harvest_topics(out: list[tuple[str, str, str]]) -> None:
    try:
        from pydoc_data.topics import topics
    except Exception:
        return
    for key in sorted(topics):
        text = inspect.cleandoc(str(topics[key])).strip()
        if len(text) >= MIN_CHARS:
            out.append((f"pydoc_data.topics:{key}", text, "pydoc_data.topics"))


def harvest_builtin_corpus(max_words: int = DEFAULT_MAX_WORDS) -> Corpus:
    """Build the built-in corpus from scratch (no cache; see the module docstring for the rules).

    Returns
    -------
    Corpus
        Sorted by id, ``name="builtin"``, no exact duplicate texts, no text over ``max_words``
        words.
    """
    raw: list[tuple[str, str, str]] = []
    seen: set[int] = set()
    names = _stdlib_module_names() + list(SCIENTIFIC_MODULES)
    # import everything first, harvest after: some imports rewrite other packages' docstrings
    # (scipy appends array-API notes to numpy functions), so reading while importing would
    # make the result depend on what the host process imported before
    modules = [(name, sys.modules.get(name) or _quiet_import(name)) for name in names]
    for name, module in modules:
        if module is not None:
            _harvest_module(name, module, seen, raw)
    _harvest_topics(raw)

    docs: dict[str, tuple[str, str]] = {}
    seen_text: set[str] = set()
    for qual, text, source in sorted(raw):
        if text in seen_text or qual in docs:
            continue
        seen_text.add(text)
        chunks = split_words(text, max_words)
        if len(chunks) == 1:
            docs[qual] = (text, source)
            continue
        for k, chunk in enumerate(chunks):
            if chunk not in seen_text:  # shared boilerplate tails ("See Also ...") appear once
                seen_text.add(chunk)
                docs.setdefault(f"{qual}#{k}", (chunk, source))
    ids = sorted(docs)
    return Corpus(
        ids=tuple(ids),
        texts=tuple(docs[i][0] for i in ids),
        sources=tuple(docs[i][1] for i in ids),
        name="builtin",
    )


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def builtin_cache_path(max_words: int = DEFAULT_MAX_WORDS) -> Path:
    """Parquet file of the built corpus for this Python, these package versions and ``max_words``."""
    key = "|".join([
        HARVEST_VERSION, sys.version.split()[0], str(max_words),
        *(f"{d}={_version(d)}" for d in SCIENTIFIC_PACKAGES),
    ])
    return cache_dir("builtin") / f"builtin-{hashlib.sha1(key.encode()).hexdigest()[:16]}.parquet"


def setup_builtin_path(max_words: int = DEFAULT_MAX_WORDS) -> Path:
    """Where ``make setup`` leaves the harvested corpus (``python -m core.corpus prepare --setup``): beside the
    static model, inside the virtualenv, so a fresh ``EQUALCTAR_HOME`` reads it instead of harvesting."""
    from core.corpus.encoders import setup_models_dir

    return setup_models_dir().parent / "builtin" / builtin_cache_path(max_words).name


def _read_cached(path: Path) -> Corpus | None:
    """The corpus in a cache file, or ``None`` when it is absent or unreadable (then rebuilt, never trusted)."""
    import pyarrow.parquet as pq

    if not path.exists():
        return None
    try:
        table = pq.read_table(path).to_pydict()
        return Corpus(ids=tuple(table["id"]), texts=tuple(table["text"]), sources=tuple(table["source"]),
                      name="builtin")
    except Exception:
        return None


def write_builtin_cache(corpus: Corpus, path: Path) -> Path:
    """Write ``corpus`` to the Parquet cache file ``path`` (a temporary file renamed into place).

    A full disk raises :class:`~core.disk.DiskFullError` naming the cache; the temporary file is removed.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    what = f"the built-in corpus cache could not save its {len(corpus):,} documents"
    with naming_disk_full(what, path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"id": list(corpus.ids), "text": list(corpus.texts), "source": list(corpus.sources)})
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # concurrent builders
    try:
        with naming_disk_full(what, path.parent):
            pq.write_table(table, tmp)
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def spread_indices(n: int, limit: int) -> list[int]:
    """``limit`` indices spread evenly over ``range(n)``: ``floor(i * n / limit)``, deterministic."""
    if limit >= n:
        return list(range(n))
    return [(i * n) // limit for i in range(limit)]


def setup_builtin_corpus(limit: int | None = None, max_words: int = DEFAULT_MAX_WORDS) -> Corpus | None:
    """The set-up copy of the built-in corpus (:func:`setup_builtin_path`), ``limit`` documents spread as
    :func:`load_builtin_corpus` spreads them; ``None`` when there is no readable copy."""
    corpus = _read_cached(setup_builtin_path(max_words))
    if corpus is not None and limit is not None and limit < len(corpus):
        corpus = corpus.subset(spread_indices(len(corpus), limit), name=f"builtin[{limit}]")
    return corpus


def load_builtin_corpus(limit: int | None = None, max_words: int = DEFAULT_MAX_WORDS) -> Corpus:
    """The built-in corpus: this home's cache, else the set-up copy, else harvested and cached in this home.

    Parameters
    ----------
    limit : int, optional
        Return only ``limit`` documents spread evenly over the sorted corpus
        (:func:`spread_indices`), so a small demo still covers every module.
    max_words : int
        Chunk size of long docstrings.
    """
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    path = builtin_cache_path(max_words)
    corpus = _read_cached(path)
    if corpus is None:  # the copy make setup harvested, shared by every home
        corpus = _read_cached(setup_builtin_path(max_words))
    if corpus is None:
        corpus = harvest_builtin_corpus(max_words)
        write_builtin_cache(corpus, path)
    if limit is not None and limit < len(corpus):
        corpus = corpus.subset(spread_indices(len(corpus), limit), name=f"builtin[{limit}]")
    return corpus
