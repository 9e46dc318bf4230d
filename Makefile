# The README's two commands: `make run` and `make test`. Both work on a fresh machine.
PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint bench clean

# A virtual environment with the project and its dev tools, rebuilt when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/draftbot $(ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The browser test drives Debian's chromium; install it from Debian's packages when it is missing.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	 else echo "the browser test needs Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi

test: lint $(CHROMIUM)
	DRAFTBOT_CHROMIUM=$(CHROMIUM) $(BIN)/pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_render.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
