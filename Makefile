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

.PHONY: demo test sync nbtest pytest docs bench clean venv

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q "$(TORCH_PIN)"
	$(PY) -m pip install -q -e ".[dev]"
	@touch $@

demo: venv
	$(BIN)/ddm demo $(PRESET) --out $(OUT) $(if $(DEVICE),--device $(DEVICE))

# notebooks clean and in sync with ddm_nb/: nbdev-clean and nbdev-export must change nothing
sync: venv
	@sum() { find nbs ddm_nb -type f \( -name '*.ipynb' -o -name '*.py' \) -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' | sort | xargs sha1sum | sha1sum; }; \
	before=$$(sum); $(BIN)/nbdev-clean && $(BIN)/nbdev-export; after=$$(sum); \
	if [ "$$before" != "$$after" ]; then \
	  echo "ERROR: notebooks were not clean or ddm_nb/ was out of date with nbs/."; \
	  echo "       nbdev-clean + nbdev-export changed files (now fixed in your tree): review and commit them."; \
	  git status --short nbs ddm_nb; exit 1; fi; \
	if [ "$${CI:-}" = "true" ] && [ -n "$$(git status --porcelain nbs ddm_nb)" ]; then \
	  echo "ERROR: git status not clean after nbdev-clean/nbdev-export:"; git status --short nbs ddm_nb; exit 1; fi; \
	echo "sync: notebooks clean, ddm_nb/ in sync"

nbtest: venv
	MPLBACKEND=Agg $(BIN)/nbdev-test --n-workers 2 --timing

pytest: venv
	MPLBACKEND=Agg $(PY) -m pytest -q tests

test: sync nbtest pytest

docs: venv
	$(PY) tools/build_docs.py

bench: venv
	$(PY) bench/bench_sim.py

clean:
	rm -rf _docs _proc out build dist *.egg-info
