# Two commands do everything on a fresh machine:
#   make reproduce   venv + pinned install + the full pipeline (every figure, table and the report)
#   make test        venv + pinned install + unit/property tests, lint, dry runs, quick pipeline
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
# notebook rules call jupyter-nbconvert by name: the venv's tools must come first on PATH
export PATH := $(abspath $(BIN)):$(PATH)
SNAKEMAKE := $(BIN)/snakemake --cores $(CORES) --rerun-incomplete

.PHONY: reproduce quick test unit lint report reference-check venv clean-results notebook-filter

$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	touch $@

venv: $(BIN)/.installed notebook-filter

# Commit notebooks without outputs (.gitattributes): register the nbstripout filter in this clone.
notebook-filter:
	-@git rev-parse --git-dir >/dev/null 2>&1 \
	  && git config filter.nbstripout.clean "$(BIN)/nbstripout --keep-id" \
	  && git config filter.nbstripout.smudge cat \
	  && git config diff.ipynb.textconv "$(BIN)/nbstripout --keep-id -t"

reproduce: venv
	$(SNAKEMAKE) --config experiment=full
	$(SNAKEMAKE) --config experiment=full --report report.html

quick: venv
	$(SNAKEMAKE) --config experiment=quick

unit: venv
	$(BIN)/python -m pytest -q -n $(CORES) tests

lint: venv
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

test: venv
	bash .ci/checks.sh

reference-check: venv
	$(BIN)/python -m sail.reference compare results/full data/reference

report: venv
	$(SNAKEMAKE) --report report.html

clean-results:
	rm -rf results logs .snakemake/incomplete
