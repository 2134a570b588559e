# The project's commands. `make help` lists them. Everything installs into .venv at the root.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Extra pip arguments for the project's install, e.g. PIP_ARGS="--index-url URL-of-a-mirror"
PIP_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# torch: the CUDA build from PyPI where an NVIDIA GPU answers nvidia-smi, else the CPU build
# from PyTorch's own CPU wheel index (PyPI's Linux wheels are CUDA builds of several GB); where
# that index cannot be reached (checked in 5 s, instead of pip's retries for every package),
# whatever pip's own sources hold (a local wheel on machines that keep one).
TORCH_VERSION   := 2.13.0
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu

.PHONY: help setup data book check-book figures notebooks test bench reproduce demo clean

help:
	@echo "make book       set up, fetch the data, build the HTML book from the chapters (main job)"
	@echo "make check-book open every page of the built book in headless Chromium, offline"
	@echo "make test       set up, fetch the data, run the tests and check the notebooks (CI)"
	@echo "make reproduce  train (or resume) every paper-scale run, then draw every figure"
	@echo "make figures    draw every figure from the stored runs into figures/"
	@echo "make notebooks  re-execute the chapters in place, storing their outputs and figures"
	@echo "make bench      timing figures (entanglement entropy, training)"
	@echo "make demo       build a q-CNN, print its parameter count and entropies (TRAIN=1: and train it)"
	@echo "make setup      only create/update .venv (idempotent; seconds when up to date)"

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@if nvidia-smi -L >/dev/null 2>&1; then \
	  echo "NVIDIA GPU found: installing torch $(TORCH_VERSION) (CUDA build, PyPI)"; \
	  $(PY) -m pip install --quiet torch==$(TORCH_VERSION); \
	elif $(PY) -c "import urllib.request; urllib.request.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=5)" 2>/dev/null; then \
	  echo "no NVIDIA GPU: installing torch $(TORCH_VERSION) (CPU build, PyTorch's CPU index)"; \
	  $(PY) -m pip install --quiet torch==$(TORCH_VERSION) --extra-index-url $(TORCH_CPU_INDEX); \
	else \
	  echo "no NVIDIA GPU, PyTorch's CPU index unreachable: torch $(TORCH_VERSION) from pip's own sources"; \
	  $(PY) -m pip install --quiet torch==$(TORCH_VERSION); \
	fi
	$(PY) -c "import torch; print(f'torch=={torch.__version__}')" > $(VENV)/torch-constraint.txt
	$(PY) -m pip install --quiet -c $(VENV)/torch-constraint.txt $(PIP_ARGS) -e ".[book,test,cluster]"
	$(PY) -m ipykernel install --sys-prefix --name qcnn --display-name "Python (qcnn)" > /dev/null
	@$(PY) -c "import torch; print('torch', torch.__version__, '- CUDA GPU:', torch.cuda.is_available())"
	@touch $(STAMP)

data: setup
	$(PY) -m qcnn data fetch all

figures: data
	$(PY) -m qcnn figures

# The chapters as committed (make notebooks executes them), the explorer's views they show
# (drawn once, then reused while the code and runs are the same), the HTML.
book: data
	$(PY) -m qcnn views
	$(VENV)/bin/jupyter-book build book/ -W -n --keep-going
	@echo "The book is in $(CURDIR)/_build/html/index.html"

# Chromium and its driver from Debian (root or sudo needed once); Selenium from PyPI (.venv).
check-book: setup
	@command -v chromium >/dev/null && test -x /usr/bin/chromedriver || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; }
	$(PY) book/_check.py _build/html --screenshots _build/screenshots

notebooks: data
	$(PY) book/_execute.py

test: data
	$(VENV)/bin/ruff check
	$(PY) -m pytest tests
	$(PY) -m pytest --nbval-lax book/ -p no:cacheprovider

bench: setup
	$(PY) -m qcnn bench all

reproduce: data
	$(PY) -m qcnn reproduce --profile paper

# make demo TRAIN=1 also trains the model with the quick recipe (half a minute) and prints it
demo: $(if $(TRAIN),data,setup)
	$(PY) -m qcnn demo $(if $(TRAIN),--train)

# What the project makes and does not commit: the environment, the built book, the data sets
# (and data/cache, which older versions wrote and nothing reads), the quick profile's figures,
# the explorer's views. Runs in training keep their checkpoints.
clean:
	rm -rf $(VENV) _build .pytest_cache data/MNIST data/FashionMNIST data/cache figures/quick \
	  book/_static/explorer
