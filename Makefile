# Arrears: the toolchain installs itself. On a fresh machine two commands do everything:
#   make demo    run the local simulation, results in out/
#   make test    lint, types, tests, template checks, sam build and a check of the built artifacts
# Needs CPython 3.13 (the Lambda runtime) and, for sam/checkov, CPython 3.11 (3.12/3.13 as fallback),
# found under `pyenv root`/versions or on PATH. Needs no Docker and no AWS account.
# Every environment installs from a committed, hashed requirements file; `make lock` regenerates them
# from their inputs (requirements/*.in and pyproject.toml) with uv. Nothing but `make lock` needs uv.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

VENV     := .venv
TOOLS    := .tools
BUILD    := .aws-sam/build
TEMPLATE := template.yaml
OUT      ?= out

PY      := $(VENV)/bin/python
SAM     := $(TOOLS)/sam/bin/sam
CHECKOV := $(TOOLS)/checkov/bin/checkov
UV      := $(TOOLS)/uv/bin/uv

# Nested stacks and other CloudFormation templates under infrastructure/ (not the YAML config packs).
CFN_TEMPLATES = $(TEMPLATE) $(shell grep -rlE '^(AWSTemplateFormatVersion|Transform):' \
                  --include='*.yaml' --include='*.yml' infrastructure 2>/dev/null | sort)

# pytest-xdist workers (0 = in-process): one per core of the 2-core machines CI runs on (the suite is
# CPU-bound on moto; the whole of it took 11 min 14 s with two workers on a fresh clone).
PYTEST_WORKERS ?= 2

# --- interpreters ----------------------------------------------------------------------------------
# find_python VERSION: newest `pyenv root`/versions/VERSION.N/bin/pythonVERSION, else pythonVERSION on
# PATH; printed as the real executable (a pyenv shim for an unselected version does not count, nor a
# Python that cannot make a venv).
define find_python
$(shell root="$$(pyenv root 2>/dev/null || echo "$${PYENV_ROOT:-$$HOME/.pyenv}")"; \
  for c in $$( { [ -n "$$root" ] && ls -d "$$root"/versions/$(1).*/bin/python$(1) 2>/dev/null; } \
                 | grep -E '/versions/$(subst .,\.,$(1))\.[0-9]+/bin/' | sort -V -r ) python$(1); do \
    exe="$$("$$c" -c 'import sys, venv, ensurepip; print(sys.executable)' 2>/dev/null)" && [ -n "$$exe" ] && \
      { echo "$$exe"; break; }; \
  done; true)
endef
# Evaluated once, on first use.
PY313    = $(eval PY313 := $(call find_python,3.13))$(PY313)
PY_TOOLS = $(eval PY_TOOLS := $(firstword $(call find_python,3.11) $(call find_python,3.12) \
                                           $(call find_python,3.13)))$(PY_TOOLS)

# pip: quiet, and without the noise of index locations this machine's pip.conf names but lacks.
# --no-compile halves install time; Python compiles what is really imported, on first use.
PIP_FLAGS := --quiet --disable-pip-version-check --no-input --no-compile
# Every requirements file is complete (transitive dependencies included) and hashed: pip refuses a
# download whose hash is not in the file.
PIP_LOCKED := $(PIP_FLAGS) --require-hashes
PIP_FILTER := { grep -v "^WARNING: Location 'file:" || true; }

# --- environment for everything that runs project code ---------------------------------------------
# Fake credentials and a fixed region: tests and the demo talk to moto only, never to AWS.
TEST_ENV := env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_SECURITY_TOKEN \
	AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	AWS_ACCOUNT_ID_ENDPOINT_MODE=disabled AWS_EC2_METADATA_DISABLED=true \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	SAM_CLI_TELEMETRY=0
export SAM_CLI_TELEMETRY := 0

# --dist worksteal: an idle worker takes queued tests from the busy one. The suite's few long tests
# (whole simulated runs, 20-60 s each) otherwise leave one of the two workers idle at the end: the
# whole suite took 557 s against 712 s with the default `load` (same machine, same day, 2026-12-03).
PYTEST = $(TEST_ENV) $(PY) -m pytest $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist worksteal)
# pytest exit code 5 = nothing collected: not a failure while a test folder is still empty.
PYTEST_OK5 := rc=$$?; if [ $$rc -eq 5 ]; then echo "(no tests collected)"; else exit $$rc; fi

.PHONY: help venv tools lock lint format typecheck pytest unit integration infra build check-build test chromium \
        demo whatif api bench reliability-doc clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

# --- environments ----------------------------------------------------------------------------------
venv: $(VENV)/.installed ## .venv with Python 3.13, requirements/dev.txt and the project (editable)

$(VENV)/.deps: requirements/dev.txt requirements/pip.txt
	@if [ -z "$(PY313)" ]; then \
	  echo "error: CPython 3.13 not found (looked in \`pyenv root\`/versions/3.13.*/ and for python3.13 on PATH)." >&2; \
	  echo "       Install it, e.g. \`pyenv install 3.13.0\`, then run make again." >&2; exit 1; fi
	@echo "venv: creating $(VENV) with $(PY313)"
	rm -rf $(VENV)
	"$(PY313)" -m venv $(VENV)
	$(PY) -m pip install $(PIP_LOCKED) -r requirements/pip.txt 2>&1 | $(PIP_FILTER)
	$(PY) -m pip install $(PIP_LOCKED) -r requirements/dev.txt 2>&1 | $(PIP_FILTER)
	touch $@

# The project itself: no dependencies (dev.txt has them all) and no download, so no hash to check.
$(VENV)/.installed: $(VENV)/.deps pyproject.toml
	$(PY) -m pip install $(PIP_FLAGS) --no-deps --no-build-isolation -e . 2>&1 | $(PIP_FILTER)
	touch $@

tools: $(TOOLS)/sam/.installed $(TOOLS)/checkov/.installed ## sam and checkov, each in its own venv

$(TOOLS)/%/.installed: requirements/%.txt requirements/pip.txt
	@if [ -z "$(PY_TOOLS)" ]; then \
	  echo "error: no CPython 3.11, 3.12 or 3.13 found for $*; install one, e.g. \`pyenv install 3.11.7\`." >&2; \
	  exit 1; fi
	@echo "tools: creating $(TOOLS)/$* with $(PY_TOOLS)"
	rm -rf $(TOOLS)/$*
	"$(PY_TOOLS)" -m venv $(TOOLS)/$*
	$(TOOLS)/$*/bin/python -m pip install $(PIP_LOCKED) -r requirements/pip.txt 2>&1 | $(PIP_FILTER)
	$(TOOLS)/$*/bin/python -m pip install $(PIP_LOCKED) -r $< 2>&1 | $(PIP_FILTER)
	touch $@

# --- the lock --------------------------------------------------------------------------------------
# One resolution per environment, all made here, all hashed:
#   pyproject.toml [project] dependencies + requirements/dev.in  ->  requirements/dev.txt  (3.13, any OS)
#   pyproject.toml [project] dependencies, constrained by dev.txt ->  layers/arrears/requirements.txt
#       (Lambda python3.13 on arm64: the layer's pins are dev.txt's, so tests run what Lambda runs;
#        what the runtime provides is left out, see LAMBDA_RUNTIME_PROVIDED)
#   requirements/sam.in, checkov.in, uv.in, pip.in              ->  requirements/<name>.txt (3.11, any OS)
# uv keeps every pin already in an output file unless told to move it: `make lock` after editing an input
# adds or drops only what the edit asks for; UPGRADE_PACKAGES="boto3 moto" moves those, UPGRADE=1 all.
# uv itself is pinned and hashed in requirements/uv.txt and installed into .tools/uv on first use.
LAMBDA_RUNTIME_PROVIDED := boto3 botocore s3transfer python-dateutil urllib3 six
LAMBDA_PLATFORM         := aarch64-manylinux_2_34
UPGRADE          ?=
UPGRADE_PACKAGES ?=
UV_COMPILE = $(UV) pip compile --quiet --generate-hashes --no-strip-extras --custom-compile-command "make lock" \
  --no-config $(if $(UPGRADE),--upgrade) $(foreach p,$(UPGRADE_PACKAGES),--upgrade-package $(p))

lock: $(TOOLS)/uv/.installed ## regenerate every requirements file from its inputs (UPGRADE=1, UPGRADE_PACKAGES=...)
	$(UV_COMPILE) --python-version 3.13 --universal \
	  pyproject.toml requirements/dev.in -o requirements/dev.txt
	$(UV_COMPILE) --python-version 3.13 --python-platform $(LAMBDA_PLATFORM) \
	  $(foreach p,$(LAMBDA_RUNTIME_PROVIDED),--no-emit-package $(p)) \
	  pyproject.toml -c requirements/dev.txt -o layers/arrears/requirements.txt
	$(UV_COMPILE) --python-version 3.11 --universal requirements/sam.in -o requirements/sam.txt
	$(UV_COMPILE) --python-version 3.11 --universal requirements/checkov.in -o requirements/checkov.txt
	$(UV_COMPILE) --python-version 3.11 --universal requirements/uv.in -o requirements/uv.txt
	$(UV_COMPILE) --python-version 3.11 --universal requirements/pip.in -o requirements/pip.txt

# --- checks ----------------------------------------------------------------------------------------
lint: venv ## ruff check + ruff format --check + layering (import-linter contracts in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=layers/arrears:tools:. $(VENV)/bin/lint-imports

format: venv ## ruff format + ruff check --fix (rewrites files)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: venv ## mypy --strict over layer, functions, local cloud, tests, scripts
	$(TEST_ENV) $(VENV)/bin/mypy

# The report's browser test opens out/report.html in the distribution's Chromium (Playwright drives it,
# no browser download). Installed here when missing and we may (root, or CI with sudo); otherwise the
# test is skipped, and this says so.
CHROMIUM ?= /usr/bin/chromium
chromium: ## install Debian's chromium for the report's browser test (when missing; root or CI)
	@if [ -x "$(CHROMIUM)" ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium for the report's browser test"; \
	  apt-get install -y --no-install-recommends chromium || \
	    { apt-get update && apt-get install -y --no-install-recommends chromium; }; \
	elif [ -n "$${CI:-}" ] && command -v sudo >/dev/null && command -v apt-get >/dev/null; then \
	  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium; \
	else \
	  echo "chromium: $(CHROMIUM) is missing and installing it needs root (or CI with sudo):"; \
	  echo "  the report's browser test will be skipped; install it with: sudo apt-get install chromium"; \
	fi

pytest: venv chromium ## every test but e2e and tests/infrastructure (those run in `infra`)
	$(PYTEST) -m "not e2e" --ignore=tests/e2e --ignore=tests/infrastructure || { $(PYTEST_OK5); }

unit: venv ## tests/unit
	$(PYTEST) tests/unit || { $(PYTEST_OK5); }

integration: venv chromium ## tests/integration (handlers on moto, the report in Chromium)
	$(PYTEST) tests/integration || { $(PYTEST_OK5); }

infra: venv tools ## tests/infrastructure, sam validate --lint, cfn-lint, checkov
	$(PYTEST) tests/infrastructure || { $(PYTEST_OK5); }
	$(TEST_ENV) $(SAM) validate --lint --template-file $(TEMPLATE)
	$(TEST_ENV) $(VENV)/bin/cfn-lint $(CFN_TEMPLATES)
	$(TEST_ENV) $(CHECKOV) --quiet --compact --skip-download --framework cloudformation \
	  $(foreach t,$(CFN_TEMPLATES),-f $(t))

# sam build for python3.13/arm64 without Docker: the python_pip workflow runs the python3.13 it finds
# on PATH (our venv's) and fetches manylinux aarch64 wheels for cp313. PIP_NO_DEPS=1 keeps the layer to
# exactly layers/arrears/requirements.txt (no botocore pulled in by aws-xray-sdk).
build: venv tools ## sam build (python3.13, arm64, no container) into .aws-sam/build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PIP_NO_DEPS=1 $(TEST_ENV) \
	  $(SAM) build --template-file $(TEMPLATE) --build-dir $(BUILD) --parallel --cached

check-build: venv ## check the built layer and handlers (aarch64/cp313 binaries, imports resolve)
	$(PY) scripts/check_build.py --build-dir $(BUILD)

# The three environments install side by side (about half the time); then every check runs in order and
# the first failure stops the run.
test: ## everything CI runs: lint typecheck pytest infra build check-build, stops at the first failure
	$(MAKE) -j3 --output-sync=target venv tools
	$(MAKE) lint
	$(MAKE) typecheck
	$(MAKE) pytest
	$(MAKE) infra
	$(MAKE) build
	$(MAKE) check-build

# --- running ---------------------------------------------------------------------------------------
demo: venv ## run the local simulation; writes out/
	$(TEST_ENV) $(VENV)/bin/arrears-demo --out $(OUT)

# The what-if of the issue's size on the fast path, one world per core. Byte code is cached here even
# where the shell sets PYTHONDONTWRITEBYTECODE: each of the run's processes would otherwise compile
# boto3, moto and pydantic again (about 9 s each), a run that is measured against ten minutes.
whatif: venv ## the fast path: LOANS x DAYS (default 20000 x 180) on WORKERS (2); writes whatif-out/
	env -u PYTHONDONTWRITEBYTECODE $(TEST_ENV) $(VENV)/bin/arrears-whatif --loans $(or $(LOANS),20000) \
	  --days $(or $(DAYS),180) --workers $(or $(WORKERS),2) --out $(or $(WHATIF_OUT),whatif-out)

api: venv ## the borrower and staff API on http://127.0.0.1:8080 over a demo book, with tokens (Ctrl-C stops it)
	$(TEST_ENV) $(VENV)/bin/python -m localcloud.api_server --port $(or $(PORT),8080)

bench: venv ## benchmark the local cloud; writes benchmarks/results.json
	mkdir -p benchmarks
	$(TEST_ENV) $(PY) -m benchmarks.run --out benchmarks/results.json
	$(TEST_ENV) $(PY) -m benchmarks.faults --loans 1000 --days 30 --rates 0.05,0.10 \
	  --out benchmarks/results-faults.json
	$(TEST_ENV) $(PY) -m benchmarks.local_cloud --loans 40 --days 40 --checkpoints 10,20,30 \
	  --out benchmarks/results-local-cloud.json
	$(TEST_ENV) $(PY) -m benchmarks.paths --loans 40 --days 20 --out benchmarks/results-paths.json

scaling-doc: venv ## rewrite the figures section of docs/scaling.md from benchmarks/results.json
	$(TEST_ENV) $(PY) -m benchmarks.scaling_doc

reliability-doc: venv ## rewrite the measured fault runs of docs/reliability.md from benchmarks/results-faults.json
	$(TEST_ENV) $(PY) -m benchmarks.reliability_doc

clean: ## remove build output, demo output and caches (keeps .venv and .tools)
	rm -rf .aws-sam $(OUT) whatif-out .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist *.egg-info \
	  layers/arrears/*.egg-info tools/*.egg-info
	find . -path ./$(VENV) -prune -o -path ./$(TOOLS) -prune -o -name __pycache__ -type d -prune \
	  -exec rm -rf {} +

distclean: clean ## clean, and remove .venv and .tools too
	rm -rf $(VENV) $(TOOLS)
