# fabledger developer commands. Everything runs from the virtualenv in .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint bench clean

# (Re)install only when pyproject.toml is newer than the stamp.
venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Embedded mode: uvicorn on 127.0.0.1:8000, SQLite store under ./data.
run: venv
	$(BIN)/fabledger serve

test: venv
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports

bench: venv
	$(BIN)/python -m benchmarks

# Caches and build output only: keeps .venv and the data in ./data.
clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .benchmarks
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
