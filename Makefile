# humangap: `make demo` runs the main job on a generated sample, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/include

.PHONY: demo screenshot test bench install clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt -r requirements-test.txt -c constraints.txt
	touch $@

# make demo [DATA=<folder in the input layout> FROM=YYYY-MM-DD TO=YYYY-MM-DD]
demo: $(STAMP)
	@$(VENV)/bin/python scripts/demo.py $(if $(DATA),--data "$(DATA)") $(if $(FROM),--from "$(FROM)") $(if $(TO),--to "$(TO)")

# Refresh the README image: run the demo, then photograph its report in headless Chromium.
screenshot: $(STAMP)
	@$(VENV)/bin/python scripts/demo.py --out out
	@$(VENV)/bin/python scripts/screenshot.py out/reports/dt=2026-11-05/report.html docs/images/demo-report.png

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# make bench [BENCH_ARGS="--predictions 10000000 --repeat 1"]; see docs/benchmarks.md
BENCH_ARGS ?= --predictions 1000000
bench: $(STAMP)
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out test-artifacts
