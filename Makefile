# kerazoo: every target installs into .venv on first use (the stamp file below), so a fresh
# clone needs only `make recipe NAME=mlp_digits` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kerazoo-installed
NAME ?= mlp_digits
ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 5000
BACKEND_STORE_URI ?= sqlite:///mlruns/mlflow.db
ARTIFACTS ?= mlruns/artifacts
# `make ui` and `make server` run MLflow's own processes: no telemetry from them either
# unless asked (MLFLOW_DISABLE_TELEMETRY=false make ui); kerazoo's processes set it themselves.
export MLFLOW_DISABLE_TELEMETRY ?= true

.PHONY: install recipe test test-slow test-jax ui compare bench bench-scale lint clean server \
	test-server

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

recipe: $(STAMP)
	$(BIN)/kerazoo run $(NAME) $(ARGS)

test: $(STAMP)
	$(BIN)/pytest $(ARGS)

# The quality floors, Fashion-MNIST's included: its Debian package is installed if missing.
test-slow: $(STAMP)
	@ls /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist)
	$(BIN)/pytest -m slow $(ARGS)

# The JAX backend (CI's second step): the model zoo's suite under KERAS_BACKEND=jax, then the
# tests that start JAX subprocesses themselves (callbacks, multi-process data parallel).
test-jax: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,jax]'
	KERAS_BACKEND=jax $(BIN)/pytest tests/test_models.py $(ARGS)
	$(BIN)/pytest tests/test_callbacks_jax.py tests/test_distributed.py $(ARGS)

# The address opens MLflow 3's model-training view (its UI starts in the GenAI one).
ui: $(STAMP)
	@echo "MLflow UI: http://$(HOST):$(PORT)/#/experiments?workflowType=machine_learning"
	$(BIN)/mlflow ui --backend-store-uri $(BACKEND_STORE_URI) --host $(HOST) --port $(PORT)

# A tracking server for a team: point MLFLOW_TRACKING_URI at http://$(HOST):$(PORT). The runs
# live in BACKEND_STORE_URI (e.g. postgresql://USER@DBHOST/mlflow), artifacts in ARTIFACTS,
# uploaded through the server. HOST stays on loopback unless you mean to expose it.
server: $(STAMP)
	@case "$(BACKEND_STORE_URI)" in postgresql*) $(BIN)/pip install --quiet \
	  --disable-pip-version-check -e '.[postgres]';; esac
	$(BIN)/mlflow server --backend-store-uri $(BACKEND_STORE_URI) \
	  --artifacts-destination $(ARTIFACTS) --host $(HOST) --port $(PORT)

# The server against a real PostgreSQL from Debian's packages (installed here if missing).
test-server: $(STAMP)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq postgresql)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[postgres]'
	$(BIN)/pytest -m slow tests/test_server.py $(ARGS)

compare: $(STAMP)
	$(BIN)/kerazoo compare $(ARGS)

bench: $(STAMP)
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/overhead.py --recipe char_rnn --epochs 1 --repeats 11
	$(BIN)/python bench/callbacks.py
	$(BIN)/python bench/startup.py

# Sweep throughput with 1 and 2 workers, data-parallel step time with 1 and 2 JAX processes.
bench-scale: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,jax]'
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/data_parallel.py

lint: $(STAMP)
	$(BIN)/ruff check kerazoo tests bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
