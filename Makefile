# ddm-nb — the two commands: `make demo` and `make test`. Each sets up its own venv on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# torch is pinned for dev/CI to the CPU wheel on this machine's disk; the library itself asks for a range.
TORCH_PIN ?= torch==2.13.0
PRESET ?= lorenz
OUT ?= out/demo
DEVICE ?=

.PHONY: demo test sync nbtest pytest docs docs-deps readme bench clean venv outputs

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q "$(TORCH_PIN)"
	$(PY) -m pip install -q -e ".[dev]"
	@touch $@

demo: venv
	$(BIN)/ddm demo $(PRESET) --out $(OUT) $(if $(DEVICE),--device $(DEVICE))

# notebooks clean and in sync with ddm_nb/: nbdev-clean, nbdev-export, the presets file's generated header and its package copy must change nothing
sync: venv
	@sum() { find nbs ddm_nb -type f \( -name '*.ipynb' -o -name '*.py' -o -name '*.ini' \) -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' | sort | xargs sha1sum | sha1sum; }; \
	before=$$(sum); $(BIN)/nbdev-clean && $(BIN)/nbdev-export && $(PY) -c 'from ddm_nb.presets import write_settings_header as w; w("settings.ini")' \
	  && cp settings.ini ddm_nb/settings.ini; after=$$(sum); \
	if [ "$$before" != "$$after" ]; then \
	  echo "ERROR: notebooks were not clean or ddm_nb/ was out of date with nbs/."; \
	  echo "       nbdev-clean + nbdev-export changed files (now fixed in your tree): review and commit them."; \
	  git status --short nbs ddm_nb; exit 1; fi; \
	if [ "$${CI:-}" = "true" ] && [ -n "$$(git status --porcelain nbs ddm_nb)" ]; then \
	  echo "ERROR: git status not clean after nbdev-clean/nbdev-export:"; git status --short nbs ddm_nb; exit 1; fi; \
	echo "sync: notebooks clean, ddm_nb/ in sync"

nbtest: venv
	# two notebooks at a time, one thread each: torch's default two threads per process oversubscribe 2 cores badly
	OMP_NUM_THREADS=1 MPLBACKEND=Agg $(BIN)/nbdev-test --n-workers 2 --timing

pytest: venv docs-deps
	MPLBACKEND=Agg $(PY) -m pytest -q tests

test: sync nbtest pytest

# the docs site, offline (no Quarto): nbs/*.ipynb with their committed outputs, nbdev-processed, rendered to _docs/*.html;
# every page has a search box (index: _docs/_static/search_index.js, no server needed), its contents and click-to-enlarge
# figures (tools/docs_site/). Open _docs/index.html directly, or serve it: python -m http.server -d _docs
docs: venv
	$(PY) tools/build_docs.py

# execute the notebooks in place so they are committed with outputs (tests/test_outputs.py fails when they are stale);
# ONLY=07_matching re-runs one notebook
outputs: venv
	OMP_NUM_THREADS=1 $(PY) tools/outputs.py run $(if $(ONLY),--only $(ONLY))
	$(PY) tools/readme.py

# headless Chromium for tests/test_docs.py, from Debian; installed only when missing (the test skips without it, fails under CI=true)
docs-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "docs-deps: installing Debian's chromium for the docs browser test"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null ) \
	    || echo "docs-deps: WARNING: could not install chromium; tests/test_docs.py will not open the pages"; }

# README.md from nbs/index.ipynb, and README.pypi.md, the wheel's long description without relative links (tests/test_readme.py
# and tests/test_packaging.py check they agree)
readme: venv
	$(PY) tools/readme.py

# CPU benchmarks -> bench/results/*.json, then bench/README.md and README's table regenerated from them (bench/report.py)
bench: venv
	PY=$(PY) bash bench/run_cpu.sh

clean:
	rm -rf _docs _proc out build dist *.egg-info
