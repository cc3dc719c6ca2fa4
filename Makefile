# Two commands: `make run` (set up, then serve the app on :8501) and `make test`.
# Set-up is stamped on requirements.txt, so a second run reinstalls nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
RAY_STAMP := $(VENV)/.installed-ray
PORT   ?= 8501
# 127.0.0.1: only this machine can reach the app. HOST=0.0.0.0 shares it on the network
# (other machines then get uploads only; see SECURITY.md)
HOST   ?= 127.0.0.1
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test test-fast lint setup setup-ray browser bench index clean map-bundle

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
	$(PY) -m pip install -q "$$(grep -E '^torch==' requirements.txt)"
	$(PY) -m pip install -q -r requirements.txt
	# the static encoder tier, distilled once from the packaged MiniLM (~1 min), so no page waits for it
	$(PY) -m core.corpus distill --setup
	# the built-in corpus harvested and UMAP's numba code compiled once (~1 min), so a first open waits for neither
	$(PY) -m core.corpus prepare --setup
	touch $(STAMP)

# The optional ray engine (requirements-ray.txt): installed for `make test`, never needed by `make run`.
setup-ray: $(RAY_STAMP)

$(RAY_STAMP): $(STAMP) requirements-ray.txt
	$(PY) -m pip install -q -r requirements-ray.txt -c requirements.txt  # -c: no pin in requirements.txt moves
	touch $(RAY_STAMP)

run: setup
	$(VENV)/bin/streamlit run serve.py --server.address $(HOST) --server.port $(PORT) --server.headless true

browser:
	@bash scripts/ensure_chromium.sh

# lint first: a ruff finding or a mypy error fails `make test` before any test runs
test: setup setup-ray browser lint
	$(PY) -m pytest -q

# the edit loop: no browser, no real model, no larger computation (the markers in pyproject.toml)
test-fast: setup lint
	$(PY) -m pytest -q -m "not slow and not browser"

# ruff (rules in pyproject.toml) over the code, mypy over core/ and pages/
lint: setup
	$(VENV)/bin/ruff check core pages tests benchmarks app.py serve.py
	$(VENV)/bin/mypy core pages

bench: setup setup-ray
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || true; done

# the WebGL map's JavaScript (components/corpus_map/dist, committed): exact versions from package-lock.json,
# bundled by esbuild; tests/test_map_bundle.py rebuilds it and compares byte for byte
map-bundle:
	cd components/corpus_map && npm ci --no-audit --no-fund && npm run build

index: setup
	$(PY) -m core.equal index --corpus builtin

clean:
	rm -rf $(VENV) .pytest_cache test-output
