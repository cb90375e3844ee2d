# Everything a fresh machine needs: `make book` and `make test` create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# A stamp named by the checksum of the requirements: edit them and the next target reinstalls.
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
# nbval: stored outputs compared after notebooks/sanitize.cfg's rules (addresses and temp paths vary run to run).
NBVAL := --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=1800
# Python files the formatter owns; the notebooks' code cells are linted only (their shape comments are aligned).
PY_SOURCES := transformer_lab tests benchmarks examples book/make_exercises.py book/make_figures.py book/_ext
# The kernels the stored outputs were made with: PyTorch's and MKL's AVX2-level code on 2 threads (README).
AVX2 := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=2
# The tests' kernels: AVX2 code, MKL's COMPATIBLE branch, and a torch.compile cache of their own in .cache/.
PINNED := $(AVX2) MKL_CBWR=COMPATIBLE MKL_DYNAMIC=FALSE OMP_DYNAMIC=FALSE TORCHINDUCTOR_CPP_MARCH=x86-64-v3 \
	TORCHINDUCTOR_CACHE_DIR=$(CURDIR)/.cache/torchinductor-tests
# The benchmarks' kernels: MKL's fast AVX2 branch, with a torch.compile cache of their own.
FAST := $(AVX2) MKL_CBWR=AVX2 TORCHINDUCTOR_CACHE_DIR=$(CURDIR)/.cache/torchinductor-bench
# Jupyter refuses to run as root unless told; a learner in a container often is root.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help install test lint format test-package test-notebooks book figures exercises lab bench fingerprint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)  ## create .venv and install requirements.txt (every other target does this first)

test: lint  ## every test: the linter, the package, the book build, and nbval on every notebook
	$(PINNED) $(BIN)/python -m pytest tests notebooks $(NBVAL)

lint: install  ## ruff: lint and format check of the Python files, lint of the notebooks' code cells
	$(BIN)/ruff check $(PY_SOURCES) notebooks
	$(BIN)/ruff format --check $(PY_SOURCES)

format: install  ## ruff: fix what can be fixed and format the Python files (never the notebooks)
	$(BIN)/ruff check --fix $(PY_SOURCES)
	$(BIN)/ruff format $(PY_SOURCES)

test-package: install  ## the package's tests only (no notebooks)
	$(PINNED) $(BIN)/python -m pytest tests

test-notebooks: install  ## nbval on every notebook only
	$(PINNED) $(BIN)/python -m pytest notebooks $(NBVAL)

book: install  ## the online book, from the notebooks' stored outputs, into _build/html
	$(BIN)/jupyter-book build . -W -n --keep-going

figures: install  ## the book's own drawings (book/make_figures.py) into book/figures/
	$(BIN)/python book/make_figures.py

exercises: install  ## the learner's edition: exercises/ regenerated from notebooks/ (never edit it by hand)
	$(BIN)/python book/make_exercises.py

lab: install  ## JupyterLab on the learner's edition (the chapters with their exercises to complete)
	$(BIN)/jupyter lab $(LAB_ROOT) exercises

bench: install  ## the benchmark tables of the book's appendix: models, then notebook and book-build times
	$(FAST) TEST_PINS="$(PINNED)" $(BIN)/python benchmarks/bench_models.py  # its seeds table runs on $(PINNED)
	$(BIN)/python benchmarks/notebook_times.py --book

fingerprint: install  ## digests of PyTorch's kernels under the tests' settings, to diff two CPUs (benchmarks/fingerprints/)
	$(PINNED) $(BIN)/python benchmarks/fingerprint.py --save

clean:  ## remove build outputs and caches (_build, .cache, __pycache__, .ruff_cache); keeps .venv
	rm -rf _build .cache .ruff_cache .pytest_cache .ipynb_checkpoints
	find . -path ./.venv -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints -o -name '*.egg-info' \) -type d -print \
		| xargs rm -rf
