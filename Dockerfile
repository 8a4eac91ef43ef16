# The pipeline image: every Kubeflow task runs in it, and so do Dataflow workers
# (--sdk_container_image), so Transform's preprocessing_fn finds models/ everywhere.
#
# Layers go from least to most often changed: base, Beam worker boot, uv, the locked
# dependencies (rebuilt only when pyproject.toml or uv.lock change), then our code.
# Build: make image IMAGE=<registry>/taxi-edge:<tag>

ARG PYTHON_IMAGE=python:3.11-slim
# Beam's worker boot loader, from the Beam SDK image of the locked Beam version (2.72.0).
ARG BEAM_SDK_IMAGE=apache/beam_python3.11_sdk:2.72.0

FROM ${BEAM_SDK_IMAGE} AS beam

FROM ${PYTHON_IMAGE}
ARG UV_VERSION=0.13.9

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TF_USE_LEGACY_KERAS=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never

COPY --from=beam /opt/apache/beam /opt/apache/beam
RUN pip install --no-cache-dir uv==${UV_VERSION}

WORKDIR /app

# Dependencies only: this layer is reused until the lock changes.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# Our code, then the project itself (the last and smallest layer).
COPY README.md ./
COPY schemas ./schemas
COPY models ./models
COPY pipeline ./pipeline
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# KFP tasks run `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor ...`
# (the compiled spec's container command overrides the entrypoint), so `python` must be
# the project's environment. Dataflow starts workers through the entrypoint: Beam's boot.
ENV PATH=/app/.venv/bin:$PATH
ENTRYPOINT ["/opt/apache/beam/boot"]
