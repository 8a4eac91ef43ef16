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

# Debian packages the tests need: a MariaDB server for MLMD on MySQL (tests start their own).
SYSTEM_PACKAGES := mariadb-server
# Airflow 3 cannot be installed next to TFX 1.16 (attrs pin): it gets its own environment,
# whose tasks call this project's .venv. Pinned in deploy/airflow3-requirements.txt.
AIRFLOW3 := $(TOOLS)/airflow3

.PHONY: setup run test test-fast lint bench clean system-deps airflow3 airflow-compile

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/python -m pipeline run $(ARGS)

# Idempotent: installs only what is missing (CI runs as root; elsewhere it uses sudo).
system-deps:
	@command -v dpkg-query >/dev/null || { echo "system-deps: not a Debian system; install $(SYSTEM_PACKAGES) yourself"; exit 0; }; \
	missing=""; for pkg in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y --no-install-recommends $$missing; \
	fi

$(AIRFLOW3)/bin/airflow: $(UV) deploy/airflow3-requirements.txt
	$(UV) venv --allow-existing --python $(PYTHON) $(AIRFLOW3)
	$(UV) pip sync --python $(AIRFLOW3)/bin/python --compile-bytecode deploy/airflow3-requirements.txt
	touch $@

airflow3: $(AIRFLOW3)/bin/airflow

# Deployment step: compile the pipeline (onprem profile) for the DAG in dags/.
airflow-compile: setup
	$(VENV)/bin/python -m pipeline compile --profile onprem $(ARGS)

test: setup system-deps airflow3
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(VENV)/bin/python -m pytest -m "not e2e" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(VENV)/bin/python benchmarks/run_benchmarks.py $(ARGS)

clean:
	rm -rf outputs .pytest_cache
