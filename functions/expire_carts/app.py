"""The cart lifecycle sweep on an EventBridge schedule: expiry, abandonment, retention."""

from typing import Any

from cart_common import lifecycle
from cart_common.api import observed


@observed(correlation_id_path="id")  # the scheduled event's id
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return lifecycle.run(context).as_dict()
