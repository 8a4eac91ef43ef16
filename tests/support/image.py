"""Which image and container engine the image tests use (`make test-image` sets both)."""

from __future__ import annotations

import os

IMAGE = os.environ.get("PIPELINE_TEST_IMAGE", "taxi-edge:latest")
ENGINE = os.environ.get("CONTAINER_TOOL", "podman")
