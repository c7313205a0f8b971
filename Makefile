# pytest-stillme: every target sets up its own virtual environment on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stillme-installed
PYTEST_WORKERS ?= 2

.PHONY: help setup test pythons demo security dast chaos serve lint bench build clean

help:
	@echo "make demo      the whole pipeline over examples/service, one pytest session per stage, merged and gated"
	@echo "               (writes examples/service/artifacts/; STAGES=unit,security to run some)"
	@echo "make test      run the project's tests"
	@echo "make pythons   the tests on every supported Python, 3.10 to 3.13 (nox)"
	@echo "make security  this repository's own code through the gate: Bandit, pip-audit, ruff, mypy (VULN_DB=DIR: offline)"
	@echo "make dast      the example's fuzz and passive DAST stages"
	@echo "make chaos     the example's integration and chaos tests (fault injection, timeouts, stress)"
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

pythons: $(STAMP)
	$(BIN)/nox

demo: $(STAMP)
	$(BIN)/python examples/pipeline.py $(if $(STAGES),--stages=$(STAGES))

security: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -m stillme_scan --stillme-gate --stillme-coverage=off \
		--stillme-scan=bandit --stillme-scan=pip-audit --stillme-scan=ruff --stillme-scan=mypy \
		$(if $(VULN_DB),--stillme-vuln-db=$(VULN_DB)) --junitxml=artifacts/junit-security.xml \
		--stillme-sarif=artifacts/security.sarif --stillme-markdown=artifacts/security.md

dast: $(STAMP)
	$(BIN)/python examples/pipeline.py --stages=fuzz,dast

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
