# Two commands do all set-up on a fresh machine:
#   make run   — venv, install, demo data folder (var/), serve the kiosk with simulated hardware
#   make test  — lint (ruff, import-linter layer contracts), mypy --strict, the whole test suite

PYTHON ?= python3
VENV   ?= .venv
DATA   ?= var
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test install lint typecheck pytest bench-qr bench-faces bench-admin-log bench-load clean translations test-deploy

# --only-binary: dlib must come as a prebuilt wheel (dlib-bin); never compile it (~10 min
# here, hours and out of memory on a Pi). A request for the dlib sdist fails at once instead.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ required, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --only-binary dlib,dlib-bin -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	@test -f $(DATA)/kiosk.toml || $(BIN)/kiosk init --demo $(DATA)
	$(BIN)/kiosk booking demo --config $(DATA)/kiosk.toml
	$(BIN)/kiosk run --config $(DATA)/kiosk.toml --sim

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest

test: lint typecheck pytest

# deploy/install-pi.sh on a booted Debian 12 container (systemd-nspawn), no hardware: as root,
# needs debootstrap and systemd-container. See README "Deployment test".
test-deploy: install
	KIOSK_DEPLOY_TEST=1 $(BIN)/python -m pytest -p no:cacheprovider -s tests/deploy

# Message catalogs (ui/translations): extract the marked strings, merge them into every
# language's .po, compile the .mo files (committed; a test fails when they are stale).
# Translate new entries in ui/translations/id/LC_MESSAGES/messages.po, then run it again.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --project gate-kiosk \
		--copyright-holder gate-kiosk --no-location -o ui/translations/messages.pot .
	$(BIN)/pybabel update -i ui/translations/messages.pot -d ui/translations \
		--no-fuzzy-matching --ignore-obsolete -w 100
	$(BIN)/pybabel compile -d ui/translations --statistics

bench-qr: install
	$(BIN)/python -m bench.qr

bench-faces: install
	$(BIN)/python -m bench.faces
	$(BIN)/python -m bench.faces_worker
	$(BIN)/python -m bench.recognition

bench-admin-log: install
	$(BIN)/python -m bench.admin_log

bench-load: install
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
