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

.PHONY: install recipe test test-slow test-jax ui compare bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

recipe: $(STAMP)
	$(BIN)/kerazoo run $(NAME) $(ARGS)

test: $(STAMP)
	$(BIN)/pytest $(ARGS)

test-slow: $(STAMP)
	$(BIN)/pytest -m slow $(ARGS)

# The model zoo's suite again on the JAX backend (CI's second step).
test-jax: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[jax]'
	KERAS_BACKEND=jax $(BIN)/pytest tests/test_models.py $(ARGS)

ui: $(STAMP)
	$(BIN)/mlflow ui --backend-store-uri $(BACKEND_STORE_URI) --host $(HOST) --port $(PORT)

compare: $(STAMP)
	$(BIN)/kerazoo compare $(ARGS)

bench: $(STAMP)
	$(BIN)/python bench/overhead.py

lint: $(STAMP)
	$(BIN)/ruff check kerazoo tests bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
