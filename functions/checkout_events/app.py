"""The order service's events on the stack's bus (an EventBridge rule of the source OrderEventSource):
PaymentSucceeded completes a checkout, PaymentFailed and CheckoutCancelled release it (cart_common.orders)."""

from typing import Any

from cart_common import orders
from cart_common.api import observed


@observed(correlation_id_path="id")  # the EventBridge event's id
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return orders.handle(event)
