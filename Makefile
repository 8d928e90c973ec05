# GPT from Scratch. `make build` builds the book, `make test` runs every check.
# Each target needs only python3: the first one creates .venv and installs into it.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
# Which optional dependency groups to install (see pyproject.toml); .ci/run adds `oracle`.
EXTRAS   ?= book,test
PORT     ?= 8000
BOOK_OUT := _build/html
# `make build REPOSITORY_URL=https://github.com/OWNER/NAME` (or `make test ...`): every page gets
# repository, issue and edit buttons. tools/publish_config.py writes _config.yml with the URL
# into BOOK_CONFIG; the GitHub workflow passes its own repository's URL.
REPOSITORY_URL ?=
BOOK_CONFIG := $(if $(REPOSITORY_URL),_build/publish_config.yml,_config.yml)
comma    := ,
STAMP    := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: build test pdf book-config serve clean lint data venv pytest book-strict bench

build: data book-config
	$(BIN)/python tools/invalidate_cache.py
	$(BIN)/jupyter-book build . --config $(BOOK_CONFIG) --keep-going
	@echo "The book is in $(BOOK_OUT)/index.html (or run: make serve)"

test: data book-config
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered
	$(BIN)/python tools/invalidate_cache.py
	$(BIN)/jupyter-book build . --config $(BOOK_CONFIG) --warningiserror --keep-going
	$(BIN)/python tools/check_outputs.py _build
	$(BIN)/python tools/check_browser.py $(BOOK_OUT)

# The whole book as one PDF, through XeLaTeX (the README names the TeX Live packages).
pdf: data
	$(BIN)/python tools/invalidate_cache.py
	rm -rf _build/latex  # latexmk, after a failed run, would call the new sources up to date
	$(BIN)/jupyter-book build . --builder pdflatex --keep-going
	@echo "The PDF is _build/latex/gpt-from-scratch.pdf"

book-config: $(STAMP)
ifneq ($(REPOSITORY_URL),)
	$(BIN)/python tools/publish_config.py _config.yml $(REPOSITORY_URL) $(BOOK_CONFIG)
endif

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

data: $(STAMP)
	$(BIN)/python -m gpt_from_scratch.commands.data fetch --all

serve: build
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory $(BOOK_OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis .coverage
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) data src/*.egg-info
