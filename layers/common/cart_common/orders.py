"""The order service's side of a checkout: its events on the stack's bus (functions/checkout_events)
and, for a shop without events, the same two operations behind IAM-authorised routes
(functions/complete_checkout, functions/release_checkout).

``PaymentSucceeded`` completes the checkout; ``PaymentFailed`` and ``CheckoutCancelled`` release it.
EventBridge delivers at least once, and completion and release are idempotent, so a replay changes
nothing. A completion that cannot happen (released, unknown, completed by another order, stock gone
after the reservation lapsed) is no error for the consumer: the completion wrote a
``CheckoutCompletionFailed`` event for the order service, and retrying would not help. A database
that is unavailable is: the invocation fails and Lambda retries it, then the dead-letter queue.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from cart_common import carts
from cart_common.errors import CheckoutCompletionFailed, CheckoutConflict, CheckoutExpired, CheckoutNotFound
from cart_common.oplog import logger

PAYMENT_SUCCEEDED = "PaymentSucceeded"
RELEASES = {"PaymentFailed": "payment_failed", "CheckoutCancelled": "cancelled"}
DETAIL_TYPES = (PAYMENT_SUCCEEDED, *RELEASES)
_REFUSALS = (CheckoutNotFound, CheckoutExpired, CheckoutConflict, CheckoutCompletionFailed)


def _detail(event: dict[str, Any]) -> tuple[str, UUID, str | None]:
    detail_type, detail = event.get("detail-type"), event.get("detail")
    if detail_type not in DETAIL_TYPES or not isinstance(detail, dict):
        raise ValueError(f"not an order event this function handles: {str(detail_type)[:64]!r}")
    order_id = detail.get("orderId")
    if detail_type == PAYMENT_SUCCEEDED and (not isinstance(order_id, str) or not order_id or len(order_id) > 128):
        raise ValueError("PaymentSucceeded needs detail.orderId (1-128 characters)")
    return detail_type, UUID(str(detail.get("checkoutId"))), order_id if isinstance(order_id, str) else None


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """One order event → its outcome. A malformed event raises (ValueError): Lambda's retries, then
    the dead-letter queue, where it can be looked at."""
    detail_type, checkout_id, order_id = _detail(event)
    try:
        if detail_type == PAYMENT_SUCCEEDED:
            done = carts.complete_checkout(checkout_id, order_id)
            outcome = "already_completed" if done.replay else "completed"
        else:
            outcome = carts.release_checkout(checkout_id, RELEASES[detail_type])
    except _REFUSALS as refusal:
        outcome = refusal.code
    logger.info(
        "Order event",
        extra={"detail_type": detail_type, "checkout_id": str(checkout_id), "order_id": order_id, "outcome": outcome},
    )
    return {"checkoutId": str(checkout_id), "outcome": outcome}
