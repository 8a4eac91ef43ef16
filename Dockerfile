# The pipeline image: every Kubeflow task runs in it, and so do Dataflow workers
# (--sdk_container_image), so Transform's preprocessing_fn finds models/ everywhere.
# It holds the pipeline environment only: the locked dependencies without the dev group
# or the airflow2 extra (no pytest, ruff, Airflow or Chromium).
#
# Three inputs come from images named by build arguments. Their defaults are the public
# images, for a machine with a registry. `make image` (IMAGE_SOURCES=local, the default)
# builds them here from Debian's packages, Beam's Go sources and the pinned uv instead,
# so the build needs no registry at all (docs/kubeflow.md).
#
# Layers go from least to most often changed: base, user, Beam's boot, the locked
# dependencies (rebuilt only when pyproject.toml or uv.lock change), then our code.

# python:3.11-slim, or a Debian bookworm root filesystem with python3.11 (deploy/image/debian-rootfs.sh).
ARG BASE_IMAGE=python:3.11-slim
# Anything with Beam's worker boot program in /opt/apache/beam: Beam's SDK image, or one
# holding the boot built from Beam's Go sources (deploy/image/beam-boot/go.mod).
ARG BEAM_BOOT_IMAGE=apache/beam_python3.11_sdk:2.72.0
# Anything with the uv binary at /uv: uv's own image, or the pinned .tools/bin/uv.
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${BEAM_BOOT_IMAGE} AS beam
FROM ${UV_IMAGE} AS uv

# The locked dependencies, installed into /app/.venv by uv; uv itself stays in this stage.
FROM ${BASE_IMAGE} AS deps
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON=python3.11 \
    UV_PYTHON_DOWNLOADS=never
COPY --from=uv /uv /usr/local/bin/uv
# pyfarmhash (TFDV's) publishes no wheel: its sdist needs a C++ compiler and Python's headers
# (python:3.11-slim has the headers; Debian's python3.11 keeps them in libpython3.11-dev).
# They stay in this stage.
RUN headers=$(python3.11 -c 'import os, sysconfig; \
        print("" if os.path.exists(sysconfig.get_path("include") + "/Python.h") else "libpython3.11-dev")') \
    && apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ $headers \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml uv.lock ./
# A site whose TLS goes through an inspecting proxy passes its CA bundle as a build secret
# (make image does: --secret id=ca-certificates); it never lands in a layer.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca-certificates \
    if [ -s /run/secrets/ca-certificates ]; then export SSL_CERT_FILE=/run/secrets/ca-certificates; fi; \
    uv sync --frozen --no-default-groups --no-install-project

FROM ${BASE_IMAGE}
# A numeric non-root user, so that Kubernetes' runAsNonRoot can check it.
ARG APP_UID=1000
RUN useradd --uid ${APP_UID} --user-group --create-home --shell /usr/sbin/nologin app

COPY --from=beam /opt/apache/beam /opt/apache/beam
COPY --from=deps /app/.venv /app/.venv

# Our code: the last and smallest layers. /app is on the path (PYTHONPATH), as the editable
# install is in .venv on a laptop: `python -m pipeline ...` and models.preprocessing import
# from any working directory, Beam workers included.
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY schemas ./schemas
COPY models ./models
COPY pipeline ./pipeline

# KFP tasks run `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor ...`
# (the compiled spec's container command overrides the entrypoint), so `python` must be
# the project's environment. Dataflow starts workers through the entrypoint: Beam's boot,
# told not to make a venv of its own per worker (it would hide /app/.venv's packages).
ENV PATH=/app/.venv/bin:$PATH \
    VIRTUAL_ENV=/app/.venv \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1 \
    TF_USE_LEGACY_KERAS=1 \
    TF_CPP_MIN_LOG_LEVEL=2
USER ${APP_UID}:${APP_UID}
ENTRYPOINT ["/opt/apache/beam/boot"]
