"""Kubeflow commands: ``compile-kfp``, ``submit-kfp`` and ``run-kfp-local``.

``compile-kfp`` writes the KFP package (YAML) and the Vertex PipelineJob (JSON) for a
profile (``gke`` by default); ``submit-kfp`` compiles, then starts a run on a KFP host
or on Vertex AI; ``run-kfp-local`` compiles the same pipeline with local folders and
executes the compiled spec's tasks here, as a KFP launcher would. Only ``submit-kfp``
contacts anything.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipeline import profiles
from pipeline.cli.common import (
    ExitCode,
    add_profile_arguments,
    add_span_arguments,
    add_verbose_argument,
    apply_run_overrides,
    quiet_libraries,
    selected_span,
)
from pipeline.components import tfx_keys
from pipeline.config import DEFAULT_SCHEMA, PipelineConfig

log = logging.getLogger(__name__)


def _add_cloud_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_arguments(parser)
    parser.set_defaults(profile="gke")
    parser.add_argument("--out", type=Path, default=Path("outputs/kfp"),
                        help="where the compiled pipeline.yaml / pipeline.json go (default: outputs/kfp)")
    parser.add_argument("--image", help="container image of every task (default: PIPELINE_IMAGE or "
                        "<region>-docker.pkg.dev/<project>/tfx/taxi-edge:latest)")
    parser.add_argument("--project", help="Google Cloud project (default: GCP_PROJECT)")
    parser.add_argument("--region", help="Google Cloud region (default: GCP_REGION or us-central1)")
    parser.add_argument("--bucket", help="GCS bucket for the pipeline and serving roots "
                        "(default: PIPELINE_BUCKET)")
    parser.add_argument("--query", help="BigQuery query as the data source (default: BIGQUERY_QUERY; "
                        "otherwise CSV files under --data)")
    parser.add_argument("--no-dataflow", action="store_true", help="run Beam inside the component pods")
    parser.add_argument("--train-steps", type=int, default=None, help="override the training steps")
    add_verbose_argument(parser)


def cloud_config(args: argparse.Namespace) -> PipelineConfig:
    """The profile named by ``--profile``, with the cloud flags applied."""
    if args.profile == "gke":
        config = profiles.gke(root=args.root, data=args.data, bucket=args.bucket, project=args.project,
                              region=args.region, image=args.image, host=getattr(args, "host", None),
                              query=args.query, use_dataflow=not args.no_dataflow)
    else:
        config = profiles.load_profile(args.profile, root=args.root, data=args.data)
        config = config.with_overrides(image=args.image or profiles.default_image(args.project, args.region
                                                                                  or profiles.DEFAULT_REGION))
    return apply_run_overrides(config, args)


def _config_or_error(args: argparse.Namespace):  # noqa: ANN202
    """The cloud config, or None after printing why it cannot be built."""
    quiet_libraries(args.verbose)
    try:
        return cloud_config(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def cmd_compile(args: argparse.Namespace) -> int:
    from pipeline.runners import kubeflow

    config = _config_or_error(args)
    if config is None:
        return 2
    compiled = kubeflow.compile_pipeline(config, args.out)
    print(f"Profile {config.profile}: image {config.image}, pipeline root {config.pipeline_root}")
    print(f"KFP package (open-source KFP):     {compiled.kfp_package}")
    print(f"PipelineJob (Vertex AI Pipelines): {compiled.vertex_job}")
    from pipeline.runners import kfp_local

    spec = kfp_local.load_pipeline_spec(compiled.kfp_package)
    upstream = kfp_local.upstream_tasks(spec)
    for name in kfp_local.task_order(spec):
        image = kfp_local.task_image(spec, name) or "(resolver)"
        print(f"  task {name}  <- {', '.join(sorted(upstream[name])) or '-'}  [{image}]")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from pipeline.runners import kubeflow

    config = _config_or_error(args)
    if config is None:
        return 2
    settings = config.kubeflow
    host = args.host or (settings.host if settings else None)
    if args.vertex and not (settings and settings.project):
        print("error: Vertex AI needs --project (or GCP_PROJECT)", file=sys.stderr)
        return 2
    if not args.vertex and not host:
        print("error: open-source KFP needs --host (or KFP_HOST); use --vertex for Vertex AI",
              file=sys.stderr)
        return 2
    compiled = kubeflow.compile_pipeline(config, args.out)
    if args.vertex:
        name = kubeflow.submit_vertex(compiled.vertex_job, project=settings.project, region=settings.region,
                                      pipeline_root=config.pipeline_root, display_name=config.pipeline_name,
                                      service_account=args.service_account, experiment=args.experiment,
                                      enable_caching=config.enable_cache)
        print(f"Submitted Vertex AI pipeline job {name}")
        return 0
    run_id = kubeflow.submit_kfp(compiled.kfp_package, host, run_name=args.run_name,
                                 experiment=args.experiment, enable_caching=config.enable_cache)
    print(f"Submitted KFP run {run_id} to {host}")
    return 0


def cmd_run_local(args: argparse.Namespace) -> int:
    """Compiles the gke pipeline with local folders and runs the compiled spec's tasks here."""
    quiet_libraries(args.verbose)
    from pipeline.runners import kfp_local, kubeflow

    root = Path(args.root or "outputs/kfp-local").resolve()
    config = profiles.gke(root=str(root), data=Path(args.data or profiles.DEFAULT_DATA).resolve(),
                          image=args.image or "taxi-edge:local", use_dataflow=False,
                          schema=str(DEFAULT_SCHEMA), env={})
    if args.train_steps is not None:
        config = config.with_training(train_steps=args.train_steps)
    from pipeline import spans

    parameters = {}
    try:
        span = selected_span(args)
        if getattr(config.data, "spanned", False):
            span = spans.check_span(config.data.path, config.data.layout, span)
            # What a KFP/Vertex run is given as its pipeline parameter of the same name.
            parameters[spans.SPAN_RANGE_PARAMETER] = spans.range_config_json(span)
        elif span is not None:
            raise ValueError(f"--span/--date need span folders (YYYY-MM-DD/ or span-N/) in "
                             f"{config.data.path}")
    except spans.SpanNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.NO_DATA
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    compiled = kubeflow.compile_pipeline(config, root / "compiled")
    print(f"Compiled {compiled.kfp_package}; executing its tasks locally"
          + (f" with {parameters}" if parameters else ""), flush=True)
    result = kfp_local.run_pipeline(
        compiled.kfp_package, root / "kfp-root", cwd=profiles.REPO_ROOT, runtime_parameters=parameters,
        on_task=lambda name, i, n: print(f"[{i}/{n}] {name} ...", flush=True),
    )
    for task in result.tasks.values():
        print(f"{task.name}: {task.kind}, {task.seconds:.1f} s")
    blessing = result.artifact("Evaluator", "blessing")
    print(f"blessed: {'yes' if blessing['metadata'].get(tfx_keys.BLESSED) == 1 else 'no'}; outputs under "
          f"{result.pipeline_root / result.run_id}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    compile_parser = subparsers.add_parser("compile-kfp",
                                           help="compile for Kubeflow Pipelines v2 / Vertex AI")
    _add_cloud_arguments(compile_parser)
    compile_parser.set_defaults(func=cmd_compile)

    submit = subparsers.add_parser("submit-kfp",
                                   help="compile, then start a run on KFP (--host) or Vertex AI")
    _add_cloud_arguments(submit)
    target = submit.add_mutually_exclusive_group()
    target.add_argument("--host", help="KFP API endpoint (default: KFP_HOST)")
    target.add_argument("--vertex", action="store_true", help="submit to Vertex AI Pipelines instead")
    submit.add_argument("--run-name", help="run name (KFP)")
    submit.add_argument("--experiment", help="experiment name")
    submit.add_argument("--service-account", help="service account the Vertex AI job runs as")
    submit.set_defaults(func=cmd_submit)

    local = subparsers.add_parser(
        "run-kfp-local", help="compile for KFP with local folders and execute the compiled tasks here")
    local.add_argument("--data", type=Path, default=None, help="folder with the input CSV files")
    local.add_argument("--root", type=Path, default=None, help="outputs (default: ./outputs/kfp-local)")
    local.add_argument("--image", default=None, help="image name written into the spec (not pulled)")
    local.add_argument("--train-steps", type=int, default=None, help="override the training steps")
    add_span_arguments(local)
    local.add_argument("-v", "--verbose", action="store_true", help="show TFX and Beam logs")
    local.set_defaults(func=cmd_run_local)
