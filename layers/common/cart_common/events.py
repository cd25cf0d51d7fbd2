"""Publishing the outbox (store/events.py) to the stack's EventBridge bus.

Every pipeline ends by reading back the events its transaction wrote (``db.pipeline``); once that
transaction is committed (the connection is idle again: at once for a change's implicit
transaction, at COMMIT for an explicit one), ``written`` publishes them with ``PutEvents`` (up to 10
entries a call) and their mark (``mark_published``) travels at the front of the connection's next
pipeline: publishing costs the operation no round trip. The mark is sent again with every pipeline
until one commits it (``leading``): a queued statement would be rolled back with a change that is
refused, and the relay would then publish the event a second time.

Nothing is lost and nothing fails the change, which is committed already:

- a failed or partly failed ``PutEvents`` is logged (the event types and the error class, never a
  detail: details hold emails and addresses) and counted (``EventPublishFailures``); the rows stay
  unpublished;
- a process that dies between the commit and the publish, or before its next pipeline carries the
  mark, leaves rows unpublished too: the relay (functions/publish_events, every minute) publishes
  what is still unpublished ``EVENT_RELAY_GRACE_S`` (30) after its commit.

So an event may reach the bus twice (and EventBridge itself delivers at least once): every detail
carries ``eventId`` (the outbox row's id) and ``occurredAt``, for consumers to deduplicate.

Settings: ``EVENT_BUS_NAME`` (unset: nothing is published and the rows wait in the outbox),
``EVENT_SOURCE`` (default ``cart.api``). boto3 is imported on the first publish, never at init;
it honours ``AWS_ENDPOINT_URL_EVENTBRIDGE`` (botocore names the variable by the service id,
EventBridge, not by the client name ``events``): the local stack's bus, local/bus.py.
"""

from __future__ import annotations

import json
import os
import time
import weakref
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus

from cart_common.db import Statement
from cart_common.store.events import COLLECT as COLLECT
from cart_common.store.events import mark_published

Row = dict[str, Any]
MAX_ENTRIES = 10  # PutEvents takes at most 10 entries per call
DEFAULT_SOURCE = "cart.api"

# Events a connection's open explicit transaction wrote, published at its commit.
_pending: weakref.WeakKeyDictionary[psycopg.Connection, dict[Any, Row]] = weakref.WeakKeyDictionary()
# Published events whose mark no pipeline has committed yet.
_unmarked: weakref.WeakKeyDictionary[psycopg.Connection, list[Any]] = weakref.WeakKeyDictionary()


def leading(conn: psycopg.Connection) -> list[Statement]:
    """The mark of what ``conn`` published, for the front of its next pipeline (none: nothing)."""
    ids = _unmarked.get(conn)
    return [mark_published(ids)] if ids else []


def _published(conn: psycopg.Connection, ids: Sequence[Any]) -> None:
    _unmarked.setdefault(conn, []).extend(ids)


def written(conn: psycopg.Connection, rows: Sequence[Row]) -> None:
    """After a pipeline that succeeded, what its last statement read back: published now if the
    transaction is committed (and the marks it carried are then committed too), else kept until it is."""
    committed = conn.info.transaction_status == TransactionStatus.IDLE
    if committed:
        _unmarked.pop(conn, None)
    if rows:
        pending = _pending.setdefault(conn, {})
        for row in rows:
            pending.setdefault(row["id"], row)  # an explicit transaction's pipelines read them again
    if committed and conn in _pending:
        publish(conn, list(_pending.pop(conn).values()))


def rolled_back(conn: psycopg.Connection) -> None:
    _pending.pop(conn, None)


def bus_name() -> str | None:
    return os.environ.get("EVENT_BUS_NAME") or None


def source() -> str:
    return os.environ.get("EVENT_SOURCE") or DEFAULT_SOURCE


@lru_cache(maxsize=1)
def _client() -> Any:
    # Imported here so only a function that publishes pays for boto3, and at its first event.
    import boto3
    from botocore.config import Config

    # Short timeouts and one retry: the change is committed, and the relay publishes what we miss.
    return boto3.client(
        "events", config=Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
    )


def _count(name: str, value: int) -> None:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    Metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return str(value)  # Decimal and anything else PostgreSQL's JSON could not hold as a number


def detail_of(row: Row) -> dict[str, Any]:
    """The detail as consumers see it: the stored one, completed where publishing adds to it."""
    detail: dict[str, Any] = dict(row["detail"])
    if row["detail_type"] == "CheckoutCompleted":
        detail = _priced(detail)
    elif row["detail_type"] == "CartAbandoned":
        detail |= recovery_fields(detail)
    return detail


def _priced(detail: dict[str, Any]) -> dict[str, Any]:
    """A completed checkout's discounts and totals, from the rows the completion read (the one
    definition of totals: cart_common.view)."""
    from cart_common.config import get_settings
    from cart_common.view import discount_amounts, totals

    codes = [
        code | {key: datetime.fromisoformat(code[key]) for key in ("now", "starts_at", "ends_at") if code.get(key)}
        for code in detail.pop("discountRows", None) or []
    ]
    subtotal = int(detail["subtotal"])
    discounts = discount_amounts(codes, subtotal, detail["currency"])
    taken = sum(code.amount for code in discounts)
    detail["discounts"] = [{"code": code.code, "amount": code.amount} for code in discounts if code.amount]
    detail["totals"] = totals(subtotal, taken, bool(detail["lines"]), get_settings(), detail["currency"]).model_dump(
        mode="json", by_alias=True, exclude={"free_shipping_remaining"}
    )
    return detail


def recovery_fields(detail: dict[str, Any]) -> dict[str, Any]:
    """The hook for CartAbandoned's recovery link (cart_common.recovery): ``recoveryUrl`` and its
    expiry, made at publish time, so the outbox never stores a bearer link."""
    try:
        from cart_common import recovery
    except ImportError:  # a layer without recovery links
        return {}
    try:
        fields: dict[str, Any] = recovery.abandoned_event_fields(
            UUID(detail["cartId"]), datetime.fromisoformat(detail["abandonedAt"])
        )
    except Exception as exc:  # better the event without its link than no event at all
        from cart_common.oplog import logger

        logger.warning("CartAbandoned published without its recovery link", extra={"error": type(exc).__name__})
        return {"recoveryUrl": None}
    return fields


def entries(rows: Sequence[Row], bus: str) -> list[dict[str, Any]]:
    return [
        {
            "Source": source(),
            "DetailType": row["detail_type"],
            "Detail": json.dumps(detail_of(row), default=_json, separators=(",", ":")),
            "EventBusName": bus,
            "Time": row["created_at"],
        }
        for row in rows
    ]


def put(rows: Sequence[Row]) -> list[Any]:
    """``rows`` sent to the bus, 10 a call; the ids of those the bus accepted. Failures are logged
    (types and error codes only) and counted, never raised."""
    from cart_common.oplog import logger

    bus = bus_name()
    if not bus or not rows:
        return []
    published: list[Any] = []
    failed: dict[str, int] = {}
    for start in range(0, len(rows), MAX_ENTRIES):
        chunk = rows[start : start + MAX_ENTRIES]
        try:
            answer = _client().put_events(Entries=entries(chunk, bus))
        except Exception as exc:  # the change is committed: the relay publishes these later
            failed[type(exc).__name__] = failed.get(type(exc).__name__, 0) + len(chunk)
            continue
        for row, result in zip(chunk, answer.get("Entries", []), strict=False):
            if result.get("EventId") and not result.get("ErrorCode"):
                published.append(row["id"])
            else:
                code = str(result.get("ErrorCode") or "Unknown")
                failed[code] = failed.get(code, 0) + 1
    if failed:
        logger.warning(
            "Events not published (the relay retries them)",
            extra={"errors": failed, "detail_types": sorted({row["detail_type"] for row in rows})},
        )
        _count("EventPublishFailures", sum(failed.values()))
    if published:
        _count("EventsPublished", len(published))
    return published


def publish(conn: psycopg.Connection, rows: Sequence[Row]) -> None:
    """``rows`` (committed) to the bus; their mark rides on the connection's next pipeline."""
    try:
        published = put(rows)
    except Exception:  # never fail a committed change
        from cart_common.oplog import logger

        logger.exception("Publishing events failed unexpectedly (the relay retries them)")
        return
    _published(conn, published)


# --- the relay ---------------------------------------------------------------------------------


def relay(
    database: Any = None, *, grace_s: float | None = None, batch: int = 100, budget_s: float = 20.0
) -> dict[str, int]:
    """Publish what is still unpublished ``grace_s`` after its commit (EVENT_RELAY_GRACE_S, 30), in
    batches of ``batch``, until none is left or ``budget_s`` is spent; each batch's mark travels
    with the next batch's read (and the last one in a pipeline of its own)."""
    from cart_common import db
    from cart_common.store import events as outbox

    report = {"published": 0, "failed": 0, "batches": 0}
    if not bus_name():  # nowhere to publish: the rows wait in the outbox
        return report
    database = database or db.get_database()
    grace = float(os.environ.get("EVENT_RELAY_GRACE_S", "30")) if grace_s is None else grace_s
    started = time.monotonic()

    def step(conn: psycopg.Connection) -> int:
        rows = outbox.unpublished(conn, grace_s=grace, batch=batch)
        published = put(rows)
        _published(conn, published)
        report["published"] += len(published)
        report["failed"] += len(rows) - len(published)
        report["batches"] += 1
        return len(rows) if len(published) == len(rows) else 0  # stop at a failure: retry next run

    while database.run(step) == batch and time.monotonic() - started < budget_s:
        pass
    if report["published"]:
        database.run(lambda conn: db.pipeline(conn, []))  # carries the last batch's mark
    return report


def run_relay(context: Any) -> dict[str, int]:
    """The scheduled relay: batches until none is left, or until 10 s before the invocation's
    timeout; one log line and the EventsRelayed metric (what the relay had to publish is what the
    changes' own publish missed: usually 0)."""
    from cart_common.oplog import logger

    budget_s = max(1.0, context.get_remaining_time_in_millis() / 1000 - 10)
    report = relay(batch=int(os.environ.get("EVENT_RELAY_BATCH_SIZE", "100")), budget_s=budget_s)
    _count("EventsRelayed", report["published"])
    logger.info("Outbox relay", extra={"relay": report})
    return report
