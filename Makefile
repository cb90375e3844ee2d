# Everything a fresh machine needs: `make book` and `make test` create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# A stamp named by the checksum of the requirements: edit them and the next target reinstalls.
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
# nbval: stored outputs compared after notebooks/sanitize.cfg's rules (addresses and temp paths vary run to run).
NBVAL := --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=1800
# pytest-xdist: one worker per core, four at most (each notebook's kernel holds its model in memory), each
# notebook or test file whole in one worker, in the order pytest collects them (conftest.py says which).
XDIST := -n auto --maxprocesses=4 --dist loadscope --no-loadscope-reorder
# Python files the formatter owns; the notebooks' code cells are linted only (their shape comments are aligned).
PY_SOURCES := conftest.py transformer_lab tests benchmarks examples book/make_exercises.py book/make_figures.py book/make_book.py book/translations.py book/diagrams book/_ext
# Chapter 14 downloads GPT-2 from the Hub only when a learner sets TRANSFORMER_LAB_HUB=1 (`TRANSFORMER_LAB_HUB=1 make lab`);
# every target that runs the chapters unsets it, so tests never download.
OFFLINE := env -u TRANSFORMER_LAB_HUB
# Jupyter refuses to run as root unless told; a learner in a container often is root.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help install test lint format test-package test-notebooks book translations figures exercises lab lab-ko bench bands bugs clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)  ## create .venv and install requirements.txt (every other target does this first)

test: lint  ## every test: the linter, the package, the book build and the built book in Chromium (skipped without one), nbval on every notebook
	$(OFFLINE) $(BIN)/python -m pytest -rs $(XDIST) tests notebooks $(NBVAL)

lint: install  ## ruff: lint and format check of the Python files, lint of the notebooks' code cells
	$(BIN)/ruff check $(PY_SOURCES) notebooks
	$(BIN)/ruff format --check $(PY_SOURCES)

format: install  ## ruff: fix what can be fixed and format the Python files (never the notebooks)
	$(BIN)/ruff check --fix $(PY_SOURCES)
	$(BIN)/ruff format $(PY_SOURCES)

test-package: install  ## the package's tests only (no notebooks)
	$(OFFLINE) $(BIN)/python -m pytest -rs $(XDIST) tests

test-notebooks: install  ## nbval on every notebook only
	$(OFFLINE) $(BIN)/python -m pytest $(XDIST) notebooks $(NBVAL)

book: install  ## the online book from the notebooks' stored outputs, in English (_build/html) and Korean (_build/html/ko)
	$(BIN)/python book/make_book.py

translations: install  ## after an English change: update the Korean catalogues (locales/ko/) and compile the checkers' into the package; translate what they flag, then run it again
	$(BIN)/python book/translations.py

figures: install  ## the book's own drawings (book/make_figures.py) into book/figures/, in English and Korean
	$(BIN)/python book/make_figures.py

exercises: install  ## the learner's editions: exercises/ and exercises_ko/ regenerated from notebooks/ (never edit them by hand)
	$(BIN)/python book/make_exercises.py

lab: install  ## JupyterLab on the learner's edition (the chapters with their exercises to complete)
	$(BIN)/jupyter lab $(LAB_ROOT) exercises

lab-ko: install  ## JupyterLab on the Korean learner's edition (한국어 학습자용 판)
	$(BIN)/jupyter lab $(LAB_ROOT) exercises_ko

bench: install  ## the benchmark tables of the book's appendix: models, then notebook and book-build times
	$(BIN)/python benchmarks/bench_models.py
	$(OFFLINE) $(BIN)/python benchmarks/notebook_times.py --book

bands: install  ## every chapter's claims over 5 seeds and 4 kernel variations, nbval included (about an hour)
	$(OFFLINE) $(BIN)/python benchmarks/claim_bands.py

bugs: install  ## plant bugs in a copy of the package and check that the chapters' claims catch each one
	$(OFFLINE) $(BIN)/python benchmarks/planted_bugs.py

clean:  ## remove build outputs and caches (_build, .cache, __pycache__, .ruff_cache); keeps .venv
	rm -rf _build .cache .ruff_cache .pytest_cache .ipynb_checkpoints .hypothesis
	find . -path ./.venv -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints -o -name '*.egg-info' \) -type d -print \
		| xargs rm -rf
