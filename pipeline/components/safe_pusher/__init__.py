"""TFX's Pusher with an atomic, idempotent filesystem push."""
