"""Pusher executor: same contract as TFX's, but safe to rerun and never half-written.

TFX's filesystem Pusher copies files straight into the version folder (a server can
see a partial model) and copies the same model again whenever it is re-executed. This
executor publishes through :func:`publish_dir` and records in MLMD whether the push
reused a version that already held this model.
"""

from __future__ import annotations

import logging
from typing import Any

from tfx import types
from tfx.components.pusher import executor as tfx_pusher
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from pipeline.components.publish import publish_dir
from pipeline.components.safe_pusher.spec import REUSED_EXISTING_PUSH

log = logging.getLogger(__name__)


class Executor(tfx_pusher.Executor):
    """Pushes a blessed model to ``base_directory/<version>``, atomically, once."""

    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        pushed_outputs = output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        model_push = artifact_utils.get_single_instance(pushed_outputs)
        if not self.CheckBlessing(input_dict):
            log.warning("model not blessed by the Evaluator: nothing pushed, previous model keeps serving")
            self._MarkNotPushed(model_push)
            return
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        if destination.WhichOneof("destination") != "filesystem":
            raise NotImplementedError("only filesystem push destinations are supported")
        model = artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY])
        publication = publish_dir(
            self.GetModelPath(input_dict),
            destination.filesystem.base_directory,
            source_uri=model.uri,
            info={"model_artifact_id": model.id},
            last_file="saved_model.pb",
        )
        self._MarkPushed(model_push, pushed_destination=publication.path, pushed_version=publication.version)
        model_push.set_int_custom_property(REUSED_EXISTING_PUSH, int(publication.reused))
