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
	image kfp-compile kfp-submit kfp-local flink-setup flink-job-server flink-up flink-down flink-status

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
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

# flink-setup: the local Flink cluster tests (tests/pipeline/flink, ~4 min on the shared 2-core
# machine) run in every `make test`; they need Java 17 and Maven, `make run` needs neither.
test: setup system-deps airflow3 flink-setup
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

# Apache Flink for the onprem profile's Flink engine (docs/onprem.md). Maven Central does not
# serve flink-dist here, so the cluster's jars are fetched module by module (deploy/flink/pom.xml)
# and checked against deploy/flink/lib.sha256. Needs Java 17 and Maven; `make run`/`make test`
# never need them. FLINK_ARGS passes options to `python -m pipeline flink` (ports, TaskManagers).
FLINK_HOME := $(TOOLS)/flink
FLINK_STAMP := $(FLINK_HOME)/.fetched
MVN ?= mvn

$(FLINK_STAMP): deploy/flink/pom.xml deploy/flink/lib.sha256
	rm -rf $(FLINK_HOME)/lib
	$(MVN) -q -B -f deploy/flink/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
	  -DoutputDirectory=$(CURDIR)/$(FLINK_HOME)/lib
	cd $(FLINK_HOME)/lib && sha256sum --quiet --strict -c $(CURDIR)/deploy/flink/lib.sha256
	@test "$$(ls $(FLINK_HOME)/lib | wc -l)" = "$$(wc -l < deploy/flink/lib.sha256)" \
	  || { echo "$(FLINK_HOME)/lib holds jars that deploy/flink/lib.sha256 does not list"; exit 1; }
	touch $@

flink-setup: setup $(FLINK_STAMP)

# Beam's Flink job server at the locked Beam version (the FlinkRunner's --flink_job_server_jar).
BEAM_VERSION := 2.72.0
FLINK_JOB_SERVER := org.apache.beam:beam-runners-flink-1.20-job-server:$(BEAM_VERSION)
flink-job-server:
	@mkdir -p $(FLINK_HOME)
	@$(MVN) -q -B dependency:copy -Dartifact=$(FLINK_JOB_SERVER) -DoutputDirectory=$(CURDIR)/$(FLINK_HOME) \
	  >$(FLINK_HOME)/job-server-fetch.log 2>&1 \
	  || { echo "error: Maven could not fetch $(FLINK_JOB_SERVER) (see $(FLINK_HOME)/job-server-fetch.log)"; exit 1; }

flink-up: flink-setup
	$(VENV)/bin/python -m pipeline flink up $(FLINK_ARGS)

flink-down:
	$(VENV)/bin/python -m pipeline flink down $(FLINK_ARGS)

flink-status:
	$(VENV)/bin/python -m pipeline flink status $(FLINK_ARGS)

clean:
	rm -rf outputs .pytest_cache
