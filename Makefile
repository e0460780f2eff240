# Quick start: `make demo` and `make test` set themselves up (a .venv in this folder).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/audit-engine
STAMP  := $(VENV)/.installed-stamp
SHARED ?= ../shared

.PHONY: setup demo test conformance reports docs bench clean

$(STAMP): pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "audit-engine needs Python 3.11+"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	@$(CLI) audit fixtures/maps/ed-sepsis-pathway.yaml --fail-on none

test: $(STAMP)
	@$(VENV)/bin/ruff check audit_engine tests scripts benchmarks
	@$(PY) -m pytest -q -n auto
	@if [ -f $(SHARED)/conformance/check.py ]; then $(PY) $(SHARED)/conformance/check.py --cli $(CLI); fi

conformance: $(STAMP)
	@$(PY) $(SHARED)/conformance/check.py --cli $(CLI)

reports: $(STAMP)
	@$(PY) scripts/make_reports.py

docs: $(STAMP)
	@$(PY) scripts/make_docs.py

# Every row of issue 12's table, side by side, into benchmarks/BENCHMARKS.md (about 5 minutes;
# BENCH_ARGS="--quick" for fewer runs). The CLIPS reference is installed into .bench/clips-venv.
bench: $(STAMP)
	@$(PY) benchmarks/bench.py --shared $(SHARED) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis audit-engine.db
