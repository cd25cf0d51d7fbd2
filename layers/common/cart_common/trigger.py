"""Cognito's Post Authentication trigger: merge the shopper's guest cart into their cart at sign-in.

It must never block or fail sign-in. Whatever happens (no cartSession, a forged one, a database
that is down or slow) is logged and the event is returned unchanged, within
``MERGE_TRIGGER_BUDGET_MS`` (1.5 s by default) in all. The merge runs in a worker thread on a
connection of its own; when the budget runs out the trigger answers Cognito and abandons that
connection (the next invocation opens a new one). The merge is one transaction and idempotent, so
a merge that completes late, or never, leaves the carts consistent; the lazy path merges on the
shopper's next request if it did not happen here.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from cart_common import carts, oplog
from cart_common.api import logger, metrics
from cart_common.config import get_settings
from cart_common.db import Database
from cart_common.models import MergeResult
from cart_common.session import Owner, guest_owner

_database = Database()


def _merge_within_budget(user: Owner, guest: Owner | None, email: str | None, budget_s: float) -> str:
    global _database
    database = _database
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            if email:  # for abandoned-cart win-back (the listing shows it)
                database.run(lambda conn: carts.remember_email(conn, user, email))
            if guest is not None:
                outcome["result"] = carts.merge_guest_cart(user, guest, database)
        except Exception as exc:  # reported below, never raised to Cognito
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=work, name="cart-merge", daemon=True).start()
    if not finished.wait(budget_s):
        _database = Database()  # the stuck merge keeps the old connection; never share it
        return "timed_out"
    if "error" in outcome:
        logger.warning("Cart merge failed at sign-in", extra={"error": repr(outcome["error"])})
        return "failed"
    if "result" not in outcome:
        return "nothing_to_merge"
    result: MergeResult = outcome["result"]
    oplog.merged(
        result.merge, via="trigger", user=user, guest=guest, cart_id=result.cart.id, message="Cart merged at sign-in"
    )
    return result.merge.outcome


def post_authentication(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = event.get("request") or {}
        attributes = request.get("userAttributes") or {}
        sub, email = attributes.get("sub"), attributes.get("email")
        token = (request.get("clientMetadata") or {}).get("cartSession")
        if not sub:
            logger.warning("Post Authentication event without a sub")
            return event
        guest = guest_owner(token)
        if token and guest is None:
            logger.warning("Sign-in with an invalid guest cart session: not merged")
        elif guest is None:
            logger.info("Sign-in without a guest cart session: nothing to merge")
        if guest is None and not email:
            return event
        budget_s = get_settings().merge_trigger_budget_ms / 1000
        result = _merge_within_budget(Owner("user", sub), guest, email, budget_s)
        metrics.add_metric(name=f"SignInMerge_{result}", unit=MetricUnit.Count, value=1)
        if result == "timed_out":
            logger.warning("Cart merge did not finish within the sign-in budget", extra={"budget_s": budget_s})
    except Exception:
        logger.exception("Cart merge at sign-in failed unexpectedly")
    return event


# The Lambda entry point: logs carry the invocation's context, metrics are flushed per invocation.
# The event is never logged (its clientMetadata holds the guest token). A sign-in is no API request:
# its lines carry no correlation id, and never a previous invocation's (clear_state).
lambda_handler = logger.inject_lambda_context(log_event=False, clear_state=True)(
    metrics.log_metrics(post_authentication, capture_cold_start_metric=True)
)
