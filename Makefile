# The two commands: `make run` starts the whole stack on loopback; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
TESSERACT := /usr/bin/tesseract
NPM    := /usr/bin/npm
AXE    := node_modules/axe-core/axe.min.js

.PHONY: run test typecheck install lint format seed org histories screenshots bench bench-waiting bench-certificates clean

run: $(STAMP) $(TESSERACT)
	$(BIN)/python -m devstack.run

test: $(STAMP) $(CHROMIUM) $(TESSERACT) $(AXE)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python tests/run_suite.py $(PYTEST_ARGS)

# The type checker alone, on the product code ([tool.mypy] in pyproject.toml: which packages, how strict).
typecheck: $(STAMP)
	$(BIN)/mypy

install: $(STAMP) $(AXE)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium (no browser download): install it once.
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Scanned certificates are read by Debian's Tesseract OCR (English data comes with it): install it once.
$(TESSERACT):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr

# The browser tests' accessibility check runs axe-core, pinned in package.json / package-lock.json and
# installed from the npm registry into node_modules/ (test tooling only: nothing there is served).
$(AXE): package.json package-lock.json | $(NPM)
	npm ci --no-audit --no-fund
	touch $(AXE)

$(NPM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

seed: $(STAMP)
	$(BIN)/python manage.py seed

# make org NAME="Acme Staffing"  -> prints the new organization's sandbox and production keys
org: $(STAMP)
	$(BIN)/python manage.py create-org "$(NAME)"

# Re-record tests/histories/*.json from the scenario tests (commit them with the workflow change).
histories: $(STAMP)
	GIGCOVER_RECORD_HISTORIES=1 $(BIN)/python -m pytest tests/test_webhooks.py tests/test_delivery_retries.py tests/test_application_workflow.py tests/test_assignment_workflow.py tests/test_creatoriq.py tests/test_assignments_api.py tests/test_engagements.py tests/test_dashboard_contractors.py tests/test_stripe_refusals.py tests/test_money_owed.py tests/test_certificate_renewals.py tests/test_application_reminders.py -k sqlite

# Benchmarks (not timed tests): ratios against a bare baseline measured in the same run.
bench: $(STAMP)
	$(BIN)/python -m bench.assignment_throughput --count 200 --rounds 3
	$(BIN)/python -m bench.api_latency --requests 500 --clients 50

# Reading certificates: accuracy per form (fields read correctly / fields present) over generated
# certificates, and the time and peak memory to read one of each form (README "Reading certificates").
bench-certificates: $(STAMP) $(TESSERACT)
	$(BIN)/python -m bench.certificate_reading --count 40 --scans 12

# About 35 minutes: 10,000 assignments waiting in their notice window at once, then charged.
bench-waiting: $(STAMP)
	$(BIN)/python -m bench.waiting_assignments --count 10000 --window 1200

clean:
	rm -rf .data

# Retake the README's dashboard screenshots (docs/screenshots/) with the browser tests that show each page.
SCREENSHOT_TESTS := access contractors jobs assignments billing bills settings webhooks api_keys certificates requirements overview
screenshots: $(STAMP) $(CHROMIUM) $(AXE)
	GIGCOVER_README_SCREENSHOTS=1 $(BIN)/python -m pytest $(SCREENSHOT_TESTS:%=tests/test_dashboard_%.py) tests/test_portal.py tests/test_application_reminders.py -k sqlite
