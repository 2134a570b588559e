# The project's commands. `make help` lists them. Everything installs into .venv at the root.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Extra pip arguments, e.g. PIP_ARGS="--extra-index-url URL-of-PyTorch's-CPU-wheels"
PIP_ARGS ?=

.PHONY: help setup data demo test bench clean

help:
	@echo "make demo   set up .venv, build a q-CNN, print its parameter count and entropies"
	@echo "make test   set up .venv and run the test suite (what CI runs)"
	@echo "make bench  print timing figures (entanglement entropy, training)"
	@echo "make data   fetch MNIST and Fashion-MNIST into data/, verified by SHA-256"
	@echo "make setup  only create/update .venv (idempotent; seconds when up to date)"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt $(PIP_ARGS) -e ".[book,test]"
	$(PY) -m ipykernel install --sys-prefix --name qcnn --display-name "Python (qcnn)" > /dev/null
	@touch $(STAMP)

data: setup
	$(PY) -m qcnn data fetch all

demo: setup
	$(PY) -m qcnn demo

test: setup data
	$(PY) -m pytest tests

bench: setup
	$(PY) -m qcnn bench all

clean:
	rm -rf $(VENV) _build .pytest_cache
