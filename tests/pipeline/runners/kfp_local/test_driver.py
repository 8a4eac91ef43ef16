"""The local KFP launcher on small hand-written specs, with real subprocesses (seconds, no TFX)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.runners import kfp_local as launcher

# A "container" that does what a KFP component does: read the ExecutorInput, write its
# output artifact under the given URI, report metadata in executor_output.json.
COMPONENT = r"""
import json, os, sys
executor_input = json.loads(sys.argv[1])
extra = sys.argv[2:]
outputs = executor_input["outputs"]
reported = {"artifacts": {}}
for key, listing in outputs.get("artifacts", {}).items():
    artifact = listing["artifacts"][0]
    os.makedirs(artifact["uri"], exist_ok=True)
    upstream = executor_input["inputs"].get("artifacts", {}).get("data", {}).get("artifacts", [])
    content = {"extra": extra, "params": executor_input["inputs"].get("parameterValues", {}),
               "upstream": [open(os.path.join(a["uri"], "content.json")).read() for a in upstream]}
    with open(os.path.join(artifact["uri"], "content.json"), "w") as handle:
        json.dump(content, handle)
    reported["artifacts"][key] = {"artifacts": [{"name": artifact["name"], "uri": artifact["uri"],
                                                 "metadata": {"rows": 3, "blessed": 1}}]}
os.makedirs(os.path.dirname(outputs["outputFile"]), exist_ok=True)
if os.path.exists(outputs["outputFile"]):  # written by a lifecycle hook, as TFX's ExampleGen driver does
    hook = json.load(open(outputs["outputFile"]))["parameterValues"]["hook"]
    reported["artifacts"][key]["artifacts"][0]["metadata"]["hook"] = hook
json.dump(reported, open(outputs["outputFile"], "w"))
"""
HOOK = r"""
import json, os, sys
output_file = json.loads(sys.argv[1])["outputs"]["outputFile"]
os.makedirs(os.path.dirname(output_file), exist_ok=True)
json.dump({"parameterValues": {"hook": "ran"}}, open(output_file, "w"))
"""
TYPE = {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}
BLESSING_TYPE = {"instanceSchema": "title: tfx.ModelBlessing\ntype: object\n"}
MODEL_TYPE = {"instanceSchema": "title: tfx.Model\ntype: object\n"}


def _component(script: str, extra: list[str] | None = None, hook: bool = False) -> dict:
    container = {"image": "img:1", "command": ["python", "-c", script], "args": ["{{$}}", *(extra or [])]}
    if hook:
        container["lifecycle"] = {"preCacheCheck": {"command": ["python", "-c", HOOK], "args": ["{{$}}"]}}
    return container


def _spec(tmp_path: Path, hook: bool = False, fail: bool = False) -> Path:
    spec = {
        "pipelineInfo": {"name": "toy"},
        "schemaVersion": "2.1.0",
        "sdkVersion": "test",
        "components": {
            "make": {"executorLabel": "make_exec",
                     "inputDefinitions": {"parameters": {"n": {"parameterType": "NUMBER_INTEGER"}}},
                     "outputDefinitions": {"artifacts": {"data": {"artifactType": TYPE}}}},
            "use": {"executorLabel": "use_exec",
                    "inputDefinitions": {"artifacts": {"data": {"artifactType": TYPE}}},
                    "outputDefinitions": {"artifacts": {"result": {"artifactType": TYPE}}}},
        },
        "deploymentSpec": {"executors": {
            "make_exec": {"container": _component(COMPONENT, ["--n={{$.inputs.parameters['n']}}"],
                                                  hook=hook)},
            "use_exec": {"container": _component("import sys; sys.exit(3)" if fail else COMPONENT,
                                                 ["--in={{$.inputs.artifacts['data'].uri}}",
                                                  "--out={{$.outputs.artifacts['result'].uri}}"])},
        }},
        "root": {"dag": {"tasks": {
            "use": {"taskInfo": {"name": "use"}, "componentRef": {"name": "use"},
                    "inputs": {"artifacts": {"data": {"taskOutputArtifact": {
                        "producerTask": "make", "outputArtifactKey": "data"}}}}},
            "make": {"taskInfo": {"name": "make"}, "componentRef": {"name": "make"},
                     "inputs": {"parameters": {"n": {"runtimeValue": {"constant": 7}}}}},
        }}},
    }
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_tasks_run_in_dependency_order_with_resolved_placeholders(tmp_path: Path):
    started = []
    result = launcher.run_pipeline(_spec(tmp_path), tmp_path / "root", run_id="r1",
                                   on_task=lambda name, i, n: started.append(name))
    assert started == ["make", "use"]
    made = result.artifact("make", "data")
    assert made["uri"] == str(tmp_path / "root" / "r1" / "make" / "data")
    assert made["metadata"] == {"rows": 3, "blessed": 1}  # taken from the task's executor_output.json
    content = json.loads((Path(result.artifact("use", "result")["uri"]) / "content.json").read_text())
    assert content["extra"] == [f"--in={made['uri']}", f"--out={result.artifact('use', 'result')['uri']}"]
    assert json.loads(content["upstream"][0])["extra"] == ["--n=7"]


def test_lifecycle_hook_runs_first_and_shares_the_output_file(tmp_path: Path):
    result = launcher.run_pipeline(_spec(tmp_path, hook=True), tmp_path / "root", run_id="r1")
    assert result.artifact("make", "data")["metadata"]["hook"] == "ran"


def test_a_failing_task_stops_the_run_and_shows_its_log(tmp_path: Path):
    with pytest.raises(launcher.TaskFailed, match="exited with 3"):
        launcher.run_pipeline(_spec(tmp_path, fail=True), tmp_path / "root", run_id="r1")
    assert (tmp_path / "root" / "r1" / "use" / "executor.log").is_file()


def test_python_in_the_command_is_this_interpreter(tmp_path: Path):
    spec = launcher.load_pipeline_spec(_spec(tmp_path))
    executor_input = launcher.build_executor_input(spec, "make", {}, tmp_path / "t", "r1")
    argv = launcher.container_command(launcher.executor_spec(spec, "make").container, executor_input,
                                      sys.executable)
    assert argv[0] == sys.executable
    assert json.loads(argv[3])["inputs"]["parameterValues"] == {"n": 7}


def test_each_task_command_goes_through_the_given_run_command_and_its_exit_code_counts(tmp_path: Path):
    """The hook a container runner plugs into: python stays `python`, hook and executor both pass."""
    seen = []

    def run_here(argv, log_path, cwd, env):
        seen.append((argv[0], log_path.parent.name, log_path.name))
        return launcher.run_subprocess([sys.executable, *argv[1:]], log_path, cwd, env)

    result = launcher.run_pipeline(_spec(tmp_path, hook=True), tmp_path / "root", run_id="r1",
                                   python="python", run_command=run_here)
    assert seen == [("python", "make", "pre_cache_check.log"), ("python", "make", "executor.log"),
                    ("python", "use", "executor.log")]
    assert result.artifact("make", "data")["metadata"]["hook"] == "ran"
    with pytest.raises(launcher.TaskFailed, match="exited with 5"):
        launcher.run_pipeline(_spec(tmp_path), tmp_path / "root", run_id="r2",
                              run_command=lambda argv, log_path, cwd, env: 5)


def test_unknown_placeholders_are_errors_not_passed_through():
    with pytest.raises(ValueError, match="unsupported placeholder"):
        launcher.resolve_placeholders("{{$.pipeline_job_name}}", {})


def test_dependency_cycles_are_reported(tmp_path: Path):
    spec = launcher.load_pipeline_spec(_spec(tmp_path))
    spec.root.dag.tasks["make"].dependent_tasks.append("use")
    with pytest.raises(ValueError, match="cycle"):
        launcher.task_order(spec)


# The filters exactly as TFX 1.16's KubeflowV2DagRunner writes them for LatestBlessedModelStrategy.
BLESSING_FILTER = 'schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed.number_value=1'
MODEL_FILTER = ('schema_title="tfx.Model" AND state=LIVE AND '
                "name=\"{{$.inputs.artifacts['input'].metadata['current_model_id']}}\"")


def _store(tmp_path: Path) -> launcher.ArtifactStore:
    store = launcher.ArtifactStore(tmp_path / "store.jsonl", "taxi-edge")
    for run, blessed in (("r1", 1), ("r2", 1), ("r3", 0)):
        store.add({"name": f"{run}/model", "uri": f"/m/{run}", "schema_title": "tfx.Model",
                   "type": MODEL_TYPE, "metadata": {}}, run)
        store.add({"name": f"{run}/blessing", "uri": f"/b/{run}", "schema_title": "tfx.ModelBlessing",
                   "type": BLESSING_TYPE, "metadata": {"blessed": float(blessed),
                                                       "current_model_id": f"{run}/model"}}, run)
    return store


def test_resolvers_find_the_model_of_the_newest_blessing(tmp_path: Path):
    from kfp.pipeline_spec import pipeline_spec_pb2

    store = _store(tmp_path)
    resolver = pipeline_spec_pb2.PipelineDeploymentConfig.ResolverSpec()
    resolver.output_artifact_queries["model_blessing"].filter = BLESSING_FILTER
    [blessing] = launcher.resolve_queries(resolver, {}, store)["model_blessing"]
    assert blessing["uri"] == "/b/r2"  # r3 is newer but not blessed

    model_resolver = pipeline_spec_pb2.PipelineDeploymentConfig.ResolverSpec()
    model_resolver.output_artifact_queries["model"].filter = MODEL_FILTER
    inputs = {"inputs": {"artifacts": {"input": {"artifacts": [blessing]}}}}
    [model] = launcher.resolve_queries(model_resolver, inputs, store)["model"]
    assert model["uri"] == "/m/r2"


def test_two_pipelines_in_one_store_see_each_others_artifacts_as_the_compiled_query_says(
        tmp_path: Path, caplog):
    """TFX compiles resolver filters on type and state only; the launcher evaluates them as compiled
    (narrowing them to one pipeline would hide what a shared backend store does) and warns."""
    from kfp.pipeline_spec import pipeline_spec_pb2

    store = _store(tmp_path)
    other = launcher.ArtifactStore(tmp_path / "store.jsonl", "other-pipeline")
    other.add({"name": "x/blessing", "uri": "/b/x", "schema_title": "tfx.ModelBlessing",
               "type": BLESSING_TYPE, "metadata": {"blessed": 1.0, "current_model_id": "x/model"}}, "x")
    resolver = pipeline_spec_pb2.PipelineDeploymentConfig.ResolverSpec()
    resolver.output_artifact_queries["model_blessing"].filter = BLESSING_FILTER
    with caplog.at_level("WARNING"):
        [blessing] = launcher.resolve_queries(resolver, {}, store)["model_blessing"]
    assert blessing["uri"] == "/b/x"  # the other pipeline's, newer
    assert "not pipeline-scoped" in caplog.text and "other-pipeline" in caplog.text
    caplog.clear()
    [own] = launcher.resolve_queries(resolver, {}, other)["model_blessing"]
    assert own["uri"] == "/b/x" and "not pipeline-scoped" not in caplog.text


def test_resolvers_find_nothing_on_a_first_run(tmp_path: Path):
    from kfp.pipeline_spec import pipeline_spec_pb2

    empty = launcher.ArtifactStore(tmp_path / "none.jsonl", "taxi-edge")
    model_resolver = pipeline_spec_pb2.PipelineDeploymentConfig.ResolverSpec()
    model_resolver.output_artifact_queries["model"].filter = MODEL_FILTER
    inputs = {"inputs": {"artifacts": {"input": {"artifacts": []}}}}
    assert launcher.resolve_queries(model_resolver, inputs, empty) == {"model": []}


def test_unsupported_filter_clauses_fail_loudly(tmp_path: Path):
    with pytest.raises(ValueError, match="unsupported resolver filter"):
        _store(tmp_path).query('schema_title="tfx.Model" AND create_time>"2024"')


BLESSED_CONDITION = "(inputs.artifacts['_Evaluator.blessing'].artifacts[0].metadata['blessed'] == 1.0)"


def _with_blessing(blessed: float | None) -> dict:
    artifacts = [] if blessed is None else [{"name": "b", "uri": "/b", "metadata": {"blessed": blessed}}]
    return {"inputs": {"artifacts": {"_Evaluator.blessing": {"artifacts": artifacts}}}}


def test_trigger_conditions_as_tfx_compiles_them():
    assert launcher.condition_holds(BLESSED_CONDITION, _with_blessing(1.0))
    assert not launcher.condition_holds(BLESSED_CONDITION, _with_blessing(0.0))
    assert not launcher.condition_holds(BLESSED_CONDITION, _with_blessing(None))  # no artifact: false
    second = "(inputs.artifacts['_Evaluator.blessing'].artifacts[0].metadata['blessed'] > 0.5)"
    both = f"{BLESSED_CONDITION} && {second}"
    assert launcher.condition_holds(both, _with_blessing(1.0))


def test_unsupported_trigger_conditions_fail_loudly():
    with pytest.raises(NotImplementedError, match="unsupported trigger condition"):
        launcher.condition_holds("size(inputs.artifacts['x'].artifacts) > 0", _with_blessing(1.0))


def test_a_task_whose_condition_is_false_is_skipped(tmp_path: Path):
    path = _spec(tmp_path)
    spec = yaml.safe_load(path.read_text())
    spec["root"]["dag"]["tasks"]["use"]["triggerPolicy"] = {
        "condition": "(inputs.artifacts['data'].artifacts[0].metadata['rows'] == 4.0)"}
    path.write_text(yaml.safe_dump(spec))
    result = launcher.run_pipeline(path, tmp_path / "root")
    assert result.tasks["make"].kind == "container"
    assert result.tasks["use"].kind == "skipped" and result.tasks["use"].outputs == {}
    spec["root"]["dag"]["tasks"]["use"]["triggerPolicy"]["condition"] = (
        "(inputs.artifacts['data'].artifacts[0].metadata['rows'] == 3.0)")
    path.write_text(yaml.safe_dump(spec))
    assert launcher.run_pipeline(path, tmp_path / "root2").tasks["use"].kind == "container"
