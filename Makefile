# `make ask Q="..."` and `make test` set everything up on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Extra pip arguments for torch, e.g. a CPU-only wheel index on machines where PyPI's torch is CUDA.
TORCH_PIP_ARGS ?=
STAMP := $(VENV)/.installed

.PHONY: setup ask index run test bench bench-scale bench-txtai clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0 $(TORCH_PIP_ARGS)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

ask: $(STAMP)
	@$(VENV)/bin/citebot ask "$(Q)"

index: $(STAMP)
	$(VENV)/bin/citebot index

run: $(STAMP)
	$(VENV)/bin/citebot run

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/latency.py

bench-scale: $(STAMP)
	$(PY) bench/scale.py

# txtai lives only in the benchmark's own environment, never in the project's dependencies.
TXTAI_VENV ?= bench/.venv-txtai
$(TXTAI_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(TXTAI_VENV)
	$(TXTAI_VENV)/bin/python -m pip install --quiet torch==2.13.0 $(TORCH_PIP_ARGS)
	$(TXTAI_VENV)/bin/python -m pip install --quiet txtai -e .
	touch $@

bench-txtai: $(TXTAI_VENV)/.installed
	$(TXTAI_VENV)/bin/python bench/txtai_compare.py

clean:
	rm -rf .citebot
