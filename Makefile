# engagement — customer-engagement survey toolkit. Run `make` for the list of targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help setup report test test-slow test-exports lab simulate bench clean

## Show this help
help:
	@awk 'BEGIN {FS=":"} /^## / {doc=substr($$0,4); next} /^[a-zA-Z_-]+:/ && doc {printf "  \033[1m%-12s\033[0m %s\n", $$1, doc; doc=""}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

## Create .venv and install the package with pinned dependencies
setup: $(STAMP)

## Run the whole pipeline on the embedded default survey and print the PDF's path
report: $(STAMP)
	$(BIN)/engagement run

## Set up and run the tests (unit, reference, planted truth, notebooks, pipeline; not `slow`/`exports`)
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow and not exports" tests
	$(BIN)/python tests/nbval_prepare.py build/nbval
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env build/nbval

## The simulation studies (coverage over many seeds; long): pytest -m slow
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m slow tests

## Every realistic export and real dataset from raw file to PDF (12-18 min): pytest -m exports
test-exports: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m exports tests

## Open JupyterLab in the project environment
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

## Regenerate the embedded default survey in data/ (seeded; identical bytes each time)
simulate: $(STAMP)
	$(BIN)/engagement simulate --out data/default

## Time pipeline vs bare computation at 5,000 and 100,000 (BENCH_ARGS="--large --outofcore 10000000" for more); writes BENCHMARKS.md
bench: $(STAMP)
	$(BIN)/python -m engagement.bench --out BENCHMARKS.md $(BENCH_ARGS)

## Remove the environment and generated reports
clean:
	rm -rf $(VENV) reports/*/ reports/latest
