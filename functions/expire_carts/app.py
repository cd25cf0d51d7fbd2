"""The cart lifecycle sweep on an EventBridge schedule: expiry, abandonment, retention."""

from typing import Any

from cart_common import init_done, lifecycle
from cart_common.api import logger, metrics


@logger.inject_lambda_context(correlation_id_path="id", log_event=False)  # the scheduled event's id
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return lifecycle.run(context).as_dict()


init_done()  # the handler exists: resume garbage collection (see cart_common/__init__.py)
