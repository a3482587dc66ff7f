# The two commands of the README:
#   make book   build the book (executes every notebook) into _build/html
#   make test   run every test: the library, every notebook (nbval), the built book
# Each creates or refreshes the local virtualenv .venv first.

PYTHON ?= python3

# One BLAS thread: the products here are thin (d = 4), and on a shared 2-core machine
# OpenBLAS's threads measured 6-25x slower than one thread under load. Override with
# `make book OPENBLAS_NUM_THREADS=2`.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test venv bench bench-hals clean clean-venv

venv: $(STAMP)

# reinstall whenever the dependency list changes
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

# builds the book first (incremental: notebooks whose source did not change come from
# the execution cache), so the tests of the built site (tests/test_site.py,
# tests/test_browser.py) always check the current sources
# tests/builtsite.py skips the site and browser tests when there is no built book (so
# that `pytest tests` runs the library's tests on a fresh clone); NMF_FULL_TEST=1 turns
# that skip into a failure here.
test: book
	bash .ci/ensure-chromium
	NMF_FULL_TEST=1 $(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider book

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_fit.py

bench-hals: $(STAMP)
	$(BIN)/python benchmarks/bench_hals.py

clean:
	rm -rf _build .pytest_cache

clean-venv:
	rm -rf $(VENV)
