"""The gke profile: cloud settings from flags or the environment, as typed configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.config import BackendMetadata, BigQuerySource, CsvSource


def test_roots_live_in_the_bucket_and_metadata_in_the_kfp_backend():
    config = profiles.gke(bucket="b", project="p", env={})
    assert config.pipeline_root == "gs://b/taxi-edge/pipeline"
    assert config.serving_root == "gs://b/taxi-edge/serving"
    assert config.data == CsvSource("gs://b/taxi-edge/data")
    assert config.metadata == BackendMetadata()
    assert config.image == "us-central1-docker.pkg.dev/p/tfx/taxi-edge:latest"


def test_settings_default_from_the_environment():
    env = {"PIPELINE_BUCKET": "eb", "GCP_PROJECT": "ep", "GCP_REGION": "europe-west4",
           "PIPELINE_IMAGE": "img:7", "KFP_HOST": "https://kfp.example", "BIGQUERY_QUERY": "SELECT 1"}
    config = profiles.gke(env=env)
    assert config.pipeline_root.startswith("gs://eb/")
    assert config.image == "img:7"
    assert config.data == BigQuerySource("SELECT 1")
    assert config.kubeflow.project == "ep" and config.kubeflow.region == "europe-west4"
    assert config.kubeflow.host == "https://kfp.example"
    assert config.kubeflow.dataflow.region == "europe-west4"


def test_flags_win_over_the_environment():
    config = profiles.gke(bucket="flag", env={"PIPELINE_BUCKET": "env"})
    assert config.pipeline_root.startswith("gs://flag/")


def test_a_bucket_or_a_root_is_required():
    with pytest.raises(ValueError, match="bucket"):
        profiles.gke(env={})


def test_gcs_uris_survive_pathlib():
    config = profiles.gke(root=Path("gs://b/custom"), data=Path("gs://b/in"), env={})
    assert config.pipeline_root == "gs://b/custom/pipeline"
    assert config.data == CsvSource("gs://b/in")


def test_dataflow_needs_a_project_and_a_bucket_and_can_be_turned_off():
    assert profiles.gke(bucket="b", env={}).kubeflow.dataflow is None
    assert profiles.gke(bucket="b", project="p", env={}).kubeflow.dataflow is not None
    assert profiles.gke(bucket="b", project="p", use_dataflow=False, env={}).kubeflow.dataflow is None


def test_beam_runner_is_always_named_explicitly():
    config = profiles.gke(bucket="b", project="p", env={})
    assert "--runner=FnApiRunner" in config.beam_args
    assert "--runner=DataflowRunner" in config.kubeflow.dataflow.beam_args(config.image)


def test_load_profile_knows_gke(monkeypatch):
    monkeypatch.setenv("PIPELINE_BUCKET", "b")
    assert profiles.load_profile("gke").profile == "gke"
