# pedgis — every target creates what it needs on a fresh Debian 12 machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# QGIS tests run in Debian's /usr/bin/python3 (python3-qgis) with the library's dependencies
# installed by the plugin's own installer into $(QVENV)/deps, pytest in $(QVENV)/tools.
QVENV ?= .venv-qgis
QPY := /usr/bin/python3
ARTIFACTS ?= test-artifacts
OUT ?= pedgis-out

.PHONY: venv demo demo-variants test test-unit test-browser test-qgis system-deps plugin bench lint clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: venv
	$(VENV)/bin/pedgis demo --out $(OUT)

# the sample district with monthly netting, its variants side by side and what it takes (docs/timeseries.md)
demo-variants: venv
	$(VENV)/bin/pedgis run examples/san_rocco_variants.toml --out $(OUT)-monthly
	$(VENV)/bin/pedgis compare examples/san_rocco_variants.toml --out $(OUT)-compare
	$(VENV)/bin/pedgis gap sample_data/scenario.toml --lever pv_kwp

# Debian packages the tests need (chromium, python3-qgis, grass-core); installs only what is missing.
system-deps:
	bash scripts/install-system-deps.sh

test: venv system-deps
	$(MAKE) test-unit
	$(MAKE) test-browser
	$(MAKE) test-qgis

test-unit: venv
	PEDGIS_NO_SKIPS=1 $(PY) -m pytest -q -rs tests --ignore=tests/browser --ignore=tests/qgis

test-browser: venv
	@if [ -d tests/browser ]; then \
	  PEDGIS_NO_SKIPS=1 PEDGIS_ARTIFACTS=$(abspath $(ARTIFACTS)) $(PY) -m pytest -q -rs tests/browser; \
	else echo "no browser tests yet"; fi

$(QVENV)/.installed: pyproject.toml scripts/make-qgis-venv.sh qgis_plugin/pedgis_plugin/installer.py qgis_plugin/pedgis_plugin/deps.py
	bash scripts/make-qgis-venv.sh $(QVENV)
	touch $@

test-qgis: $(QVENV)/.installed
	@if [ -d tests/qgis ]; then \
	  PEDGIS_NO_SKIPS=1 QT_QPA_PLATFORM=offscreen PEDGIS_ARTIFACTS=$(abspath $(ARTIFACTS)) PEDGIS_DEPS_DIR=$(abspath $(QVENV))/deps \
	  PYTHONPATH=$(abspath $(QVENV))/tools:$(CURDIR) $(QPY) -m pytest -q -rs -p no:cacheprovider tests/qgis; \
	else echo "no qgis tests yet"; fi

plugin: venv
	$(PY) scripts/build_plugin.py --out dist

# every benchmark in turn (minutes; never part of `make test`), or one: `make bench BENCH=engine`
BENCH ?= *
bench: venv
	set -e; for f in benchmarks/bench_$(BENCH).py; do m=$$(basename $$f .py); echo "== $$m"; $(PY) -m benchmarks.$$m; done

lint: venv
	$(VENV)/bin/ruff check pedgis tests

clean:
	rm -rf $(VENV) $(QVENV) $(OUT) $(OUT)-* pedgis-compare $(ARTIFACTS) build dist *.egg-info
