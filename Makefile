# GPT from Scratch. `make build` builds the book, `make test` runs every check.
# Each target needs only python3: the first one creates .venv and installs into it.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
# Which optional dependency groups to install (see pyproject.toml); .ci/run adds `oracle`.
EXTRAS   ?= book,test
PORT     ?= 8000
BOOK_OUT := _build/html
comma    := ,
STAMP    := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: build test serve clean lint data venv pytest book-strict bench

build: data
	$(BIN)/python tools/invalidate_cache.py
	$(BIN)/jupyter-book build . --keep-going
	@echo "The book is in $(BOOK_OUT)/index.html (or run: make serve)"

test: data
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered
	$(BIN)/python tools/invalidate_cache.py
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	$(BIN)/python tools/check_outputs.py _build

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
