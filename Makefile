# pytest-stillme: every target sets up its own virtual environment on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stillme-installed
PYTEST_WORKERS ?= 2

.PHONY: help setup test demo chaos serve lint bench build clean

help:
	@echo "make demo   run the gated test session over examples/service (writes examples/service/artifacts/)"
	@echo "make test   run the project's tests"
	@echo "make chaos  the example's integration and chaos tests (fault injection, timeouts, stress)"
	@echo "make serve  the example service on http://127.0.0.1:8000 (INVENTORY_PORT to change; INVENTORY_TEST_FAULTS=1 adds the test-only fault switch)"
	@echo "make lint   ruff and mypy"
	@echo "make build  wheel and sdist in dist/, checked with twine"
	@echo "make bench  benchmarks (ratios against the alternatives)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,example]"
	@touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) tests

demo: $(STAMP)
	cd examples/service && ../../$(BIN)/python -m pytest --stillme-gate --cov=inventory --cov-report=term \
		--junitxml=artifacts/junit.xml
	@echo
	@echo "artifacts of the demo:"
	@echo "  JUnit:    examples/service/artifacts/junit.xml"
	@echo "  SARIF:    examples/service/artifacts/stillme.sarif"
	@echo "  Markdown: examples/service/artifacts/summary.md"

chaos: $(STAMP)
	cd examples/service && ../../$(BIN)/python -m pytest -m "chaos or integration" -n 1 --junitxml=artifacts/chaos-junit.xml \
		--stillme-sarif=artifacts/chaos.sarif --stillme-markdown=artifacts/chaos-summary.md

serve: $(STAMP)
	cd examples/service && PYTHONPATH=src ../../$(BIN)/python -m inventory

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

build: $(STAMP)
	rm -rf dist
	$(BIN)/python -m pip install --quiet --disable-pip-version-check build twine
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

clean:
	rm -rf $(VENV) artifacts dist examples/service/artifacts .pytest_cache .mypy_cache .ruff_cache
