# Two commands do all set-up on a fresh machine:
#   make run   — venv, install, demo data folder (var/), serve the kiosk with simulated hardware
#   make test  — lint, type-check and run the whole test suite

PYTHON ?= python3
VENV   ?= .venv
DATA   ?= var
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test install lint typecheck pytest bench-qr clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ required, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	@test -f $(DATA)/kiosk.toml || $(BIN)/kiosk init --demo $(DATA)
	$(BIN)/kiosk booking demo --config $(DATA)/kiosk.toml
	$(BIN)/kiosk run --config $(DATA)/kiosk.toml --sim

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench-qr: install
	$(BIN)/python -m bench.qr

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
