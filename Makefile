# The project's commands. `make help` lists them. Everything installs into .venv at the root.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Extra pip arguments, e.g. PIP_ARGS="--extra-index-url URL-of-PyTorch's-CPU-wheels"
PIP_ARGS ?=

.PHONY: help setup data book figures notebooks test bench reproduce demo clean

help:
	@echo "make book       set up, fetch the data, draw the figures, build the HTML book (main job)"
	@echo "make test       set up, fetch the data, run the tests and check the notebooks (CI)"
	@echo "make reproduce  train (or resume) the paper-scale runs, then draw every figure"
	@echo "make figures    draw every figure from the stored runs into figures/"
	@echo "make notebooks  re-execute the chapters in place (quick profile), storing outputs"
	@echo "make bench      timing figures (entanglement entropy, training)"
	@echo "make demo       build a q-CNN, print its parameter count and entropies"
	@echo "make setup      only create/update .venv (idempotent; seconds when up to date)"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt $(PIP_ARGS) -e ".[book,test]"
	$(PY) -m ipykernel install --sys-prefix --name qcnn --display-name "Python (qcnn)" > /dev/null
	@touch $(STAMP)

data: setup
	$(PY) -m qcnn data fetch all

figures: data
	$(PY) -m qcnn figures

book: figures
	$(VENV)/bin/jupyter-book build book/ -W -n --keep-going
	@echo "The book is in $(CURDIR)/_build/html/index.html"

notebooks: data
	QCNN_PROFILE=quick $(PY) book/_execute.py

test: data
	$(PY) -m pytest tests
	QCNN_PROFILE=quick $(PY) -m pytest --nbval-lax book/ -p no:cacheprovider

bench: setup
	$(PY) -m qcnn bench all

reproduce: data
	$(PY) -m qcnn reproduce --profile paper

demo: setup
	$(PY) -m qcnn demo

clean:
	rm -rf $(VENV) _build .pytest_cache
