# One entry point for people and CI.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
OUTLINE ?= examples/outlines/quarterly-review.yaml
OUT     ?= reports_out
# llama.cpp built for any x86-64 with AVX2, not only the CPU that builds it: pip caches the
# wheel, and a wheel tuned to another machine's CPU dies of SIGILL on the first generation.
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: setup report test lint format bench bench-dist bench-gate clean

setup: $(BIN)/report .env ## create the venv, install the package and its dev tools, create .env

$(BIN)/report: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip install --quiet -e ".[dev]"
	@$(BIN)/python scripts/check_llama.py || { \
	    $(BIN)/pip cache remove llama_cpp_python >/dev/null 2>&1; \
	    CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip install --quiet --force-reinstall --no-deps \
	        "llama-cpp-python==$$($(BIN)/python -c 'from importlib.metadata import version; print(version("llama-cpp-python"))')" && \
	    $(BIN)/python scripts/check_llama.py; }
	@touch $@

.env:
	cp .env.example .env

report: ## build OUTLINE (default: the quarterly review example) into OUT
	$(BIN)/report build $(OUTLINE) --out $(OUT)

test: ## run the test suite
	$(BIN)/pytest

lint: ## ruff, mypy, the import layers of docs/architecture.md, and the docs site (no broken link)
	$(BIN)/ruff check reporting tests scripts $(wildcard benchmarks)
	$(BIN)/ruff format --check reporting tests scripts $(wildcard benchmarks)
	$(BIN)/mypy reporting
	$(BIN)/lint-imports --no-cache
	$(BIN)/mkdocs build --strict --site-dir $$(mktemp -d)

format:
	$(BIN)/ruff format reporting tests scripts $(wildcard benchmarks)
	$(BIN)/ruff check --fix reporting tests scripts $(wildcard benchmarks)

clean:
	rm -rf $(OUT)/*.md $(OUT)/*.docx $(OUT)/*.pdf $(OUT)/*.html $(OUT)/*.run.json .pytest_cache .mypy_cache .ruff_cache

bench: ## speed against loopback servers (about 4 minutes); prints the table of docs/benchmarks.md
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_sources.py
	$(BIN)/python benchmarks/bench_large.py
	$(BIN)/python benchmarks/bench_quality.py
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_charts.py
	$(BIN)/python benchmarks/bench_formats.py

bench-dist: ## Celery workers on a real Redis: 1 vs 2 workers, shared budget cost and cap (about 3 minutes)
	$(BIN)/python benchmarks/bench_dist.py

bench-gate: ## the quality gate on every example, checked then repaired (about 40 minutes, embedded model)
	$(BIN)/python benchmarks/bench_gate.py
