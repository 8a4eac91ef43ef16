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
	image image-deps image-inputs test-image kfp-compile kfp-submit kfp-local flink-setup flink-job-server \
	flink-up flink-down flink-status

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

# flink-setup: the local Flink cluster tests (tests/pipeline/flink, ~4 min on the shared 2-core
# machine) run in every `make test`; they need Java 17 and Maven, `make run` needs neither.
test: setup system-deps airflow3 flink-setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not image" $(PYTEST_ARGS)

test-fast: setup
	$(VENV)/bin/python -m pytest -m "not e2e and not image" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(VENV)/bin/python benchmarks/pipeline_vs_template.py $(ARGS)

# Kubeflow Pipelines / Vertex AI. IMAGE is the pipeline image every task (and every Dataflow
# worker) runs in; docs/kubeflow.md. `make image` needs no registry: with IMAGE_SOURCES=local
# (default) the Dockerfile's three inputs are made here, each cached under $(IMAGE_CACHE) and
# keyed by its version, so only the first build pays for them:
#   base      Debian bookworm + python3.11 from Debian packages (mmdebstrap), imported as an image;
#   Beam boot Beam's Python worker boot program, built from Beam's Go sources (go.mod pins them);
#   uv        the pinned .tools/bin/uv.
# IMAGE_SOURCES=registry uses the Dockerfile's defaults instead: python:3.11-slim, Beam's SDK
# image and uv's image, pulled from their registries.
IMAGE ?= taxi-edge:latest
CONTAINER_TOOL ?= podman
IMAGE_SOURCES ?= local
IMAGE_CACHE := build/image
IMAGE_BUILD_FLAGS ?=
GO ?= go
DEBIAN_SUITE := bookworm
BASE_KEY := $(DEBIAN_SUITE)-$(shell sha256sum deploy/image/debian-rootfs.sh | cut -c1-12)
BASE_TAR := $(IMAGE_CACHE)/rootfs-$(BASE_KEY).tar
BASE_IMAGE_LOCAL := localhost/taxi-edge-base:$(BASE_KEY)
BEAM_BOOT_VERSION := $(shell sed -n 's|^require github.com/apache/beam/sdks/v2 v||p' deploy/image/beam-boot/go.mod)
BEAM_BOOT_DIR := $(IMAGE_CACHE)/beam-boot-$(BEAM_BOOT_VERSION)
BEAM_BOOT_IMAGE_LOCAL := localhost/taxi-edge-beam-boot:$(BEAM_BOOT_VERSION)
UV_DIR := $(IMAGE_CACHE)/uv-$(UV_VERSION)
UV_IMAGE_LOCAL := localhost/taxi-edge-uv:$(UV_VERSION)
# A TLS-inspecting proxy's CA (as on these machines) reaches uv as a build secret, not a layer.
, := ,
CA_BUNDLE ?= $(firstword $(wildcard $(SSL_CERT_FILE) /etc/ssl/certs/ca-certificates.crt))
IMAGE_PACKAGES := $(if $(filter podman,$(CONTAINER_TOOL)),podman runc) \
	$(if $(filter local,$(IMAGE_SOURCES)),mmdebstrap)
ifeq ($(IMAGE_SOURCES),local)
IMAGE_BUILD_ARGS := --build-arg BASE_IMAGE=$(BASE_IMAGE_LOCAL) \
	--build-arg BEAM_BOOT_IMAGE=$(BEAM_BOOT_IMAGE_LOCAL) --build-arg UV_IMAGE=$(UV_IMAGE_LOCAL)
IMAGE_INPUTS := image-inputs
endif

# The container engine (and mmdebstrap) from Debian's packages, as system-deps does.
image-deps:
	@$(MAKE) --no-print-directory system-deps SYSTEM_PACKAGES="$(IMAGE_PACKAGES)"

$(BASE_TAR): deploy/image/debian-rootfs.sh
	deploy/image/debian-rootfs.sh $(DEBIAN_SUITE) $@

# Beam's Go module proxy has no v2.72.0 (the locked Beam); see deploy/image/beam-boot/go.mod.
$(BEAM_BOOT_DIR)/opt/apache/beam/boot: deploy/image/beam-boot/go.mod deploy/image/beam-boot/go.sum
	@command -v $(GO) >/dev/null || { echo "Go is needed to build Beam's boot program (or IMAGE_SOURCES=registry)"; exit 1; }
	mkdir -p $(@D)
	cd deploy/image/beam-boot && GOMODCACHE=$(CURDIR)/$(IMAGE_CACHE)/go/mod GOCACHE=$(CURDIR)/$(IMAGE_CACHE)/go/build \
	  GOFLAGS="-modcacherw -mod=readonly" CGO_ENABLED=0 GOTOOLCHAIN=local \
	  $(GO) build -trimpath -ldflags="-s -w" -o $(CURDIR)/$@ github.com/apache/beam/sdks/v2/python/container
	cp "$$(cd deploy/image/beam-boot && GOMODCACHE=$(CURDIR)/$(IMAGE_CACHE)/go/mod GOFLAGS=-mod=readonly \
	  $(GO) list -m -f '{{.Dir}}' github.com/apache/beam/sdks/v2)/LICENSE" $(@D)/LICENSE

$(UV_DIR)/uv: $(UV)
	mkdir -p $(@D) && cp $(UV) $@

# Imports each input as an image unless the engine already has it (its storage may be newer
# or older than this cache).
image-inputs: image-deps $(BASE_TAR) $(BEAM_BOOT_DIR)/opt/apache/beam/boot $(UV_DIR)/uv
	@$(CONTAINER_TOOL) image inspect $(BASE_IMAGE_LOCAL) >/dev/null 2>&1 || \
	  $(CONTAINER_TOOL) import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' $(BASE_TAR) $(BASE_IMAGE_LOCAL)
	@$(CONTAINER_TOOL) image inspect $(BEAM_BOOT_IMAGE_LOCAL) >/dev/null 2>&1 || \
	  tar -C $(BEAM_BOOT_DIR) -c opt | $(CONTAINER_TOOL) import - $(BEAM_BOOT_IMAGE_LOCAL)
	@$(CONTAINER_TOOL) image inspect $(UV_IMAGE_LOCAL) >/dev/null 2>&1 || \
	  tar -C $(UV_DIR) -c uv | $(CONTAINER_TOOL) import - $(UV_IMAGE_LOCAL)

# The image's own tests (tests marked `image`): the compiled gke spec's tasks and a Beam worker,
# each in containers of the image just built. Separate from `make test` (its 40-minute budget);
# .ci/run runs both. From a fresh clone (no image, no layer cache) this took 28 min here, under
# load: ~18 min to build, ~10 min of tests (docs/kubeflow.md).
test-image: setup image
	PIPELINE_TEST_IMAGE=$(IMAGE) CONTAINER_TOOL=$(CONTAINER_TOOL) \
	  $(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m image $(PYTEST_ARGS) tests

image: image-deps $(IMAGE_INPUTS)
	@start=$$(date +%s); \
	$(CONTAINER_TOOL) build $(IMAGE_BUILD_ARGS) $(IMAGE_BUILD_FLAGS) \
	  $(if $(CA_BUNDLE),--secret id=ca-certificates$(,)src=$(CA_BUNDLE)) -t $(IMAGE) . && \
	deploy/image/report.sh $(CONTAINER_TOOL) $(IMAGE) $$(( $$(date +%s) - start ))

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
