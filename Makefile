# One entry point for people and CI.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
OUTLINE ?= examples/outlines/quarterly-review.yaml
OUT     ?= reports_out

.PHONY: setup report test lint format bench clean

setup: $(BIN)/report .env ## create the venv, install the package and its dev tools, create .env

$(BIN)/report: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

.env:
	cp .env.example .env

report: ## build OUTLINE (default: the quarterly review example) into OUT
	$(BIN)/report build $(OUTLINE) --out $(OUT)

test: ## run the test suite
	$(BIN)/pytest

lint: ## ruff, mypy and the import layers of docs/architecture.md
	$(BIN)/ruff check reporting tests scripts $(wildcard benchmarks)
	$(BIN)/ruff format --check reporting tests scripts $(wildcard benchmarks)
	$(BIN)/mypy reporting
	$(BIN)/lint-imports --no-cache

format:
	$(BIN)/ruff format reporting tests scripts $(wildcard benchmarks)
	$(BIN)/ruff check --fix reporting tests scripts $(wildcard benchmarks)

clean:
	rm -rf $(OUT)/*.md $(OUT)/*.docx $(OUT)/*.run.json .pytest_cache .mypy_cache .ruff_cache

bench: ## speed against loopback servers (about 3 minutes); prints the README's table
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_sources.py
