# `make run` and `make test` both create .venv on first use; the stamp re-installs when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORES ?= all

.PHONY: setup run test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

run: setup
	$(BIN)/snakemake --cores $(CORES) --printshellcmds

test: setup
	$(BIN)/python -m pytest -m "" tests

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf data results/tables results/figures results/bench logs benchmarks .snakemake
