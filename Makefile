# The two commands of the README's contract: `make run` and `make test`.
# Both set up the environment first (.venv, from uv.lock), so a fresh clone needs nothing else.

PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced
UV_VERSION := 0.13.9

export TF_USE_LEGACY_KERAS := 1
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

# Airflow 3 cannot be installed next to TFX 1.16 (attrs pin): it gets its own environment,
# whose tasks call this project's .venv. Pinned in deploy/airflow3-requirements.txt.
AIRFLOW3 := $(TOOLS)/airflow3

.PHONY: setup system-deps airflow3 airflow-compile run test test-fast lint bench clean \
	image kfp-compile kfp-submit kfp-local

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --extra airflow2 --python $(PYTHON)
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests need: chromium renders the HTML run report headless; a MariaDB
# server holds MLMD for the on-prem tests (they start their own on 127.0.0.1).
# Idempotent: installs only what is missing (as root, e.g. in CI); otherwise says what to install.
SYSTEM_PACKAGES := chromium mariadb-server
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "missing Debian packages:$$missing (install them: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

$(AIRFLOW3)/bin/airflow: $(UV) deploy/airflow3-requirements.txt
	$(UV) venv --allow-existing --python $(PYTHON) $(AIRFLOW3)
	$(UV) pip sync --python $(AIRFLOW3)/bin/python --compile-bytecode deploy/airflow3-requirements.txt
	touch $@

airflow3: $(AIRFLOW3)/bin/airflow

# Deployment step: compile the pipeline (onprem profile) for the DAG in dags/.
airflow-compile: setup
	$(VENV)/bin/python -m pipeline compile --profile onprem $(ARGS)

run: setup
	$(VENV)/bin/python -m pipeline run $(ARGS)

# Two pytest-xdist workers (the CI machine has two cores). --dist loadfile sends each test file
# whole to one worker, in order, so module-scoped fixtures (a served model, a MariaDB, an Airflow
# run) are built once; loadgroup interleaved modules and rebuilt them.
PYTEST_WORKERS ?= 2

test: setup system-deps airflow3
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: setup
	$(VENV)/bin/python -m pytest -m "not e2e" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(VENV)/bin/python benchmarks/pipeline_vs_template.py $(ARGS)

# Kubeflow Pipelines / Vertex AI. IMAGE is the pipeline image every task runs in.
IMAGE ?= taxi-edge:latest
CONTAINER_TOOL ?= docker

image:
	$(CONTAINER_TOOL) build -t $(IMAGE) .

kfp-compile: setup
	$(VENV)/bin/python -m pipeline compile-kfp --image $(IMAGE) $(ARGS)

kfp-submit: setup
	$(VENV)/bin/python -m pipeline submit-kfp --image $(IMAGE) $(ARGS)

kfp-local: setup
	$(VENV)/bin/python -m pipeline run-kfp-local $(ARGS)

clean:
	rm -rf outputs .pytest_cache
