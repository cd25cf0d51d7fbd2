"""The outbox relay on an EventBridge schedule (every minute): publishes the events still unpublished
30 s after their commit (the process that made the change died before publishing them)."""

from typing import Any

from cart_common import events
from cart_common.api import observed


@observed(correlation_id_path="id")  # the scheduled event's id
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return events.run_relay(context)
