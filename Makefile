# Everything a fresh machine needs: `make book` and `make test` create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
# Addresses and kernel temp paths in warnings change run to run; nbval compares outputs after these rules.
NBVAL := --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=1800
# PyTorch's and MKL's kernels pick their code by the CPU, and with it the order in which floats are added;
# after a few hundred training steps that changes printed losses and accuracies. The tests run PyTorch's AVX2
# code and MKL's COMPATIBLE branch (the one MKL documents as giving the same results on Intel and AMD CPUs;
# its MKL_CBWR=AVX2 branch does so on Intel CPUs only), on 2 threads as on CI, so that stored outputs match on
# any x86-64 machine with AVX2. One kernel still differs between Intel and AMD under them, torch.sqrt (MKL's
# vector maths), which is why the course's AdamW is the fused one; `make fingerprint` digests the kernels to
# diff two machines (see the README). The benchmarks time the fast AVX2 branch of both (FAST), which on an
# AMD CPU is MKL's own.
# torch.compile keeps the kernels it generates in an on-disk cache (/tmp/torchinductor_$USER) shared by every
# process; entries made under other kernel settings than these were seen to be reused here and give wrong numbers
# (NaN logits in chapter 15), so the tests and the benchmarks keep caches of their own in the checkout. It also
# builds its kernels with gcc -march=native, which on an AVX-512 machine is other code than on an AVX2 one: the
# tests ask for the AVX2 level of x86-64 (x86-64-v3) instead.
AVX2 := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=2
PINNED := $(AVX2) MKL_CBWR=COMPATIBLE MKL_DYNAMIC=FALSE OMP_DYNAMIC=FALSE TORCHINDUCTOR_CPP_MARCH=x86-64-v3 \
	TORCHINDUCTOR_CACHE_DIR=$(CURDIR)/.cache/torchinductor-tests
FAST := $(AVX2) MKL_CBWR=AVX2 TORCHINDUCTOR_CACHE_DIR=$(CURDIR)/.cache/torchinductor-bench

.PHONY: install test test-package test-notebooks book exercises lab bench fingerprint clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

test: install  ## every test: the package, the book build, and nbval on every notebook
	$(PINNED) $(BIN)/python -m pytest tests notebooks $(NBVAL)

test-package: install
	$(PINNED) $(BIN)/python -m pytest tests

test-notebooks: install
	$(PINNED) $(BIN)/python -m pytest notebooks $(NBVAL)

book: install  ## the online book, from the notebooks' stored outputs, into _build/html
	$(BIN)/jupyter-book build . -W -n --keep-going

exercises: install  ## the learner's edition: exercises/ regenerated from the chapters in notebooks/ (never edit it by hand)
	$(BIN)/python book/make_exercises.py

lab: install  ## JupyterLab on the learner's edition (the chapters with their exercises to complete)
	$(BIN)/jupyter lab exercises

bench: install  ## the benchmark tables of the book's appendix: models, then notebook and book-build times
	$(FAST) TEST_PINS="$(PINNED)" $(BIN)/python benchmarks/bench_models.py  # its seeds table runs on $(PINNED)
	$(BIN)/python benchmarks/notebook_times.py --book

fingerprint: install  ## digests of PyTorch's kernels under the tests' settings, to diff between two CPUs (benchmarks/fingerprints/)
	$(PINNED) $(BIN)/python benchmarks/fingerprint.py --save

clean:
	rm -rf _build
