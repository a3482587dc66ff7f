# The three commands of the README:
#   make book   build the book (executes every notebook) into _build/html
#   make test   run every test: the library, every notebook (nbval), the built book
#   make lab    open the chapters in JupyterLab, with .venv as their kernel
# Each creates or refreshes the local virtualenv .venv first.

PYTHON ?= python3

# One BLAS thread: the products here are thin (d = 4), and on a shared 2-core machine
# OpenBLAS's threads measured 6-25x slower than one thread under load. Override with
# `make book OPENBLAS_NUM_THREADS=2`.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
LAB_STAMP := $(VENV)/.installed-lab

.PHONY: book test test-nb lab venv bench bench-hals bench-dask clean clean-venv

venv: $(STAMP)

# reinstall whenever the dependency list changes
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# JupyterLab on top of the same environment (`make lab`; `make test` tests it too)
$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

# builds the book first (incremental: notebooks whose source did not change come from
# the execution cache), so the tests of the built site (tests/test_site.py,
# tests/test_browser.py) always check the current sources
# tests/builtsite.py skips the site and browser tests when there is no built book (so
# that `pytest tests` runs the library's tests on a fresh clone), and the JupyterLab test
# without the lab extra; NMF_FULL_TEST=1 turns those skips into failures here.
test: book $(LAB_STAMP)
	bash .ci/ensure-chromium
	NMF_FULL_TEST=1 $(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider book

# one chapter: the template checks of every chapter, then nbval executes this one
#   make test-nb NB=book/experiment.ipynb
test-nb: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make test-nb NB=book/<chapter>.ipynb" >&2; exit 2; }
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_notebooks.py
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider $(NB)

# JupyterLab on book/, the chapters' working directory (book/matplotlibrc applies, as in
# the build). Its python3 kernel is this virtualenv's Python: Jupyter prefers the kernel
# specs of the environment it runs in to a personal one in ~/.local/share/jupyter.
# As root (containers, CI) it needs --allow-root. Extra options: make lab LAB_ARGS="--port=8899"
lab: $(LAB_STAMP)
	$(BIN)/jupyter-lab --ServerApp.root_dir=book $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_fit.py

bench-hals: $(STAMP)
	$(BIN)/python benchmarks/bench_hals.py

# out of core: 8 GB of X in a temporary zarr store, workers limited to 2 GB in all (about
# 10 minutes; needs 8 GB of free disk). BENCH_ARGS=--quick for a 0.4 GB check
bench-dask: $(STAMP)
	$(BIN)/python benchmarks/bench_dask.py $(BENCH_ARGS)

clean:
	rm -rf _build .pytest_cache

clean-venv:
	rm -rf $(VENV)
