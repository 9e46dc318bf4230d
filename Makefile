# The README's two commands: `make run` and `make test`. Both work on a fresh machine.
PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
# Debian's chromium draws no emoji without a font for them (the playground's 👍 pills are blank boxes).
EMOJI_FONT ?= /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
# Any installed PostgreSQL's pg_ctl, else where Debian bookworm's would be (tests/postgres.py finds the rest).
PG_CTL   ?= $(firstword $(wildcard /usr/lib/postgresql/*/bin/pg_ctl) /usr/lib/postgresql/15/bin/pg_ctl)

.PHONY: run test lint bench bench-processes clean

# One virtual environment, two installs, each redone when pyproject.toml changes: what running needs (the
# project with its PostgreSQL and S3 extras) for `make run`, and that plus the dev tools for the rest.
$(BIN)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[postgres,s3]'
	touch $@

$(BIN)/.installed-dev: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[postgres,s3,dev]'
	touch $@

run: $(BIN)/.installed-run
	$(BIN)/draftbot $(ARGS)

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The browser test drives Debian's chromium; install it from Debian's packages when it is missing.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	 else echo "the browser test needs Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi

# ... and the emoji in the browser test's page need a font: Debian's fonts-noto-color-emoji, when it is missing.
# Without root it is only a warning: the page then shows emoji by name (:+1:) instead.
$(EMOJI_FONT):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji; \
	 else echo "no emoji font: the playground shows emoji by name; sudo apt-get install fonts-noto-color-emoji" >&2; fi

# The PostgreSQL tests start a throwaway server of their own (tests/postgres.py) from Debian's PostgreSQL
# binaries; install them when they are missing. The package must not create and start a cluster of its own:
# install postgresql-common first and turn that off. DRAFTBOT_SKIP_POSTGRES=1 skips those tests instead.
$(PG_CTL):
	@if [ "$$DRAFTBOT_SKIP_POSTGRES" = 1 ]; then echo "DRAFTBOT_SKIP_POSTGRES=1: the PostgreSQL tests are skipped"; \
	 elif [ "$$(id -u)" = 0 ]; then apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-common \
	  && sed -i 's/^#* *create_main_cluster *=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; \
	 else echo "the PostgreSQL tests need Debian's postgresql: sudo apt-get install postgresql" \
	  "(or set DRAFTBOT_SKIP_POSTGRES=1 to skip them)" >&2; exit 1; fi

test: lint $(CHROMIUM) $(EMOJI_FONT) $(PG_CTL)
	DRAFTBOT_CHROMIUM=$(CHROMIUM) $(BIN)/pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed-dev
	$(BIN)/python benchmarks/bench_render.py

# The bot as deployed (`serve`, `worker`), the fake Slack, the provider and the load generator in processes
# of their own (issue 16); about 7 minutes, ARGS=--quick for about 4. Its PostgreSQL part needs $(PG_CTL).
bench-processes: $(BIN)/.installed-dev
	$(BIN)/python benchmarks/bench_processes.py $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
