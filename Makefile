# `make run` and `make test` both create .venv on first use; the stamp re-installs when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORES ?= all
# Rules call `vssl`, so the venv's bin directory goes first on PATH for Snakemake's jobs.
RUN := PATH="$(abspath $(BIN)):$$PATH"

.PHONY: setup run report test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# The whole default DAG (synthetic data, every table and figure), then the HTML report.
# make_run.py: after a killed run it removes Snakemake's stale locks (and refuses a second run);
# --fork-server: jobs fork one process that imported torch once (VSSL_FORK_SERVER=0 make run: no server).
run: setup
	$(RUN) $(BIN)/python workflow/scripts/make_run.py --fork-server $(BIN)/snakemake --cores $(CORES) --printshellcmds --rerun-incomplete
	$(MAKE) report

report: setup
	$(RUN) $(BIN)/snakemake --cores 1 --report results/report.html

test: setup
	$(RUN) $(BIN)/python -m pytest -m "" tests

# Formatter and linter (settings in pyproject.toml): ruff for Python, snakefmt for the Snakefile and rules.
lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile workflow/rules

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf data results/tables results/figures results/bench results/pretrain results/finetune results/eval \
		results/SUMMARY.md results/report.html logs benchmarks .snakemake
