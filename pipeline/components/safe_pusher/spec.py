"""What SafePusher records beyond TFX's Pusher (TFX's own names are in :mod:`..tfx_keys`)."""

NODE_ID = "Pusher"  # MLMD history, DAGs and compiled specs refer to it: never change it
# 1 when the model was already serving in a version folder and was not copied again.
REUSED_EXISTING_PUSH = "reused_existing_push"
