# Everything a fresh machine needs: `make book` and `make test` create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
# Addresses and kernel temp paths in warnings change run to run; nbval compares outputs after these rules.
NBVAL := --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=1800

.PHONY: install test test-package test-notebooks book exercises lab bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

test: install  ## every test: the package, the book build, and nbval on every notebook
	$(BIN)/python -m pytest tests notebooks $(NBVAL)

test-package: install
	$(BIN)/python -m pytest tests

test-notebooks: install
	$(BIN)/python -m pytest notebooks $(NBVAL)

book: install  ## the online book, from the notebooks' stored outputs, into _build/html
	$(BIN)/jupyter-book build . -W -n --keep-going

exercises: install  ## the learner's edition: exercises/ regenerated from the chapters in notebooks/ (never edit it by hand)
	$(BIN)/python book/make_exercises.py

lab: install  ## JupyterLab on the learner's edition (the chapters with their exercises to complete)
	$(BIN)/jupyter lab exercises

bench: install  ## the benchmark tables of the book's appendix: models, then notebook and book-build times
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/notebook_times.py --book

clean:
	rm -rf _build
