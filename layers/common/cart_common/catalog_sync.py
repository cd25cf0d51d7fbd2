"""The shop's catalog and inventory events (docs/catalog.md): their models, shared with the import
files (cart_common/catalog_import.py), and the consumer of the stack's catalog queue
(functions/catalog_events).

EventBridge puts each event of the source ``CATALOG_EVENT_SOURCE`` on an SQS queue; Lambda hands
the consumer up to 10 messages a batch. The batch is validated message by message, and the valid
events applied in one round trip (``catalog_apply``, migration 0015), in product id order; each
event's outcome decides its message's fate:

- ``applied``, ``clamped`` (a StockAdjusted that would have gone below 0 leaves 0) and ``unchanged``
  (a replay, or an event overtaken by a newer version of what it describes): done;
- a message that can never apply (not JSON, another source or type, a field of the wrong type or out
  of bounds, a slug or SKU another product holds): sent to the dead-letter queue at once with its
  ``code`` and ``reason`` as message attributes, and done: retrying it would only fail again;
- an event about a product or variant not known yet (its ProductUpserted may be behind it in the
  queue), or a database that did not answer: a batch item failure, so SQS delivers it again after the
  visibility timeout, and after ``maxReceiveCount`` receives moves it to the dead-letter queue.

Nothing is applied partly: an event is one product's change, applied whole or not at all.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from cart_common.models import AttributeKey, AttributeValue
from cart_common.store import catalog_sync as store_sync

DEFAULT_SOURCE = "shop.catalog"
MAX_VARIANTS = 100
MAX_ATTRIBUTES = 20
_NO_NUL = r"^[^\x00]*$"

# Strict numbers: "12", 12.5 and true are refused, never coerced.
Version = Annotated[int, Strict(), Field(ge=0, le=2**63 - 1)]
Price = Annotated[int, Strict(), Field(ge=0, le=10**12)]  # minor units
Stock = Annotated[int, Strict(), Field(ge=0, le=2**31 - 1)]
Delta = Annotated[int, Strict(), Field(ge=-(2**31 - 1), le=2**31 - 1)]
Limit = Annotated[int, Strict(), Field(ge=1, le=1_000_000)]
Flag = Annotated[bool, Strict()]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True, pattern=_NO_NUL)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Image = Annotated[str, StringConstraints(max_length=2048, pattern=r"^(https://|/)[^\x00\s]*$")]
Group = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_NO_NUL)]
Attributes = Annotated[dict[AttributeKey, AttributeValue], Field(max_length=MAX_ATTRIBUTES)]


class _Model(BaseModel):
    # Unknown fields are ignored: a shop's export may carry more than the cart keeps.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class Variant(_Model):
    id: UUID
    sku: Sku
    attributes: Attributes = Field(default_factory=dict)
    price: Price | None = None  # null: the product's price
    stock: Stock | None = None  # absent: left as it is
    active: Flag = True


class Product(_Model):
    """ProductUpserted's detail, and one line of an import file: the whole product as of ``version``."""

    id: UUID
    version: Version
    name: Name
    slug: Slug
    image: Image | None = None
    price: Price
    currency: Currency
    stock: Stock | None = None  # a product without variants; absent: left as it is
    max_per_order: Limit | None = None
    max_per_customer: Limit | None = None
    requires_auth: Flag = False
    exclusive_group: Group | None = None
    active: Flag = True
    variants: Annotated[list[Variant], Field(max_length=MAX_VARIANTS)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_variants(self) -> Product:
        if len({v.id for v in self.variants}) != len(self.variants):
            raise ValueError("two variants have the same id")
        if len({v.sku for v in self.variants}) != len(self.variants):
            raise ValueError("two variants have the same sku")
        return self


class PriceChanged(_Model):
    product_id: UUID
    variant_id: UUID | None = None
    version: Version
    price: Price | None  # a variant's may be null: the product's price
    currency: Currency


class StockSet(_Model):
    product_id: UUID
    variant_id: UUID | None = None
    version: Version
    stock: Stock


class StockAdjusted(_Model):
    product_id: UUID
    variant_id: UUID | None = None
    version: Version
    delta: Delta


class ProductRetired(_Model):
    product_id: UUID
    version: Version


DETAIL_TYPES: dict[str, type[_Model]] = {
    "ProductUpserted": Product,
    "PriceChanged": PriceChanged,
    "StockSet": StockSet,
    "StockAdjusted": StockAdjusted,
    "ProductRetired": ProductRetired,
}
DetailType = Literal["ProductUpserted", "PriceChanged", "StockSet", "StockAdjusted", "ProductRetired"]

# What each refusal means, for the import report and the dead-letter queue's messages.
REASONS = {
    "invalid": "the line or event does not match its schema",
    "not_json": "not a JSON object",
    "line_too_long": "the line is longer than the limit",
    "duplicate_id": "a product with this id is on an earlier line of the file",
    "unknown_source": "the event's source is not the catalog's",
    "unknown_type": "not a catalog event type",
    "unknown_product": "no product with this id (its ProductUpserted has not been applied)",
    "unknown_variant": "the product has no variant with this id",
    "slug_taken": "another product has this slug",
    "sku_taken": "another variant has this SKU",
    "variant_of_another_product": "a variant id that belongs to another product",
    "currency_mismatch": "the price's currency is not the product's",
    "invalid_price": "a product's price cannot be null",
}
# Refusals that may pass once other events are applied: retried by SQS, then dead-lettered.
RETRYABLE = frozenset({"unknown_product", "unknown_variant"})
DONE = frozenset({"applied", "clamped", "unchanged"})


class Rejected(Exception):
    def __init__(self, code: str, reason: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.reason = reason or REASONS.get(code, code)


def describe(error: ValidationError) -> str:
    """A validation error in a line: each failing field and why, never the value (it may be huge)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)[:500]


def item_of(detail_type: str, model: _Model, index: int) -> dict[str, Any]:
    """What ``catalog_apply`` takes of a validated event: ``{i, type, productId, version, ...}``."""
    fields = model.model_dump(mode="json", by_alias=True)
    product_id = fields.pop("id") if isinstance(model, Product) else fields["productId"]
    return {**fields, "i": index, "type": detail_type, "productId": product_id}


def parse(detail_type: Any, detail: Any) -> _Model:
    """A catalog event's detail as its model, or Rejected."""
    model = DETAIL_TYPES.get(detail_type) if isinstance(detail_type, str) else None
    if model is None:
        raise Rejected("unknown_type")
    if not isinstance(detail, dict):
        raise Rejected("not_json", "the event's detail is not a JSON object")
    try:
        return model.model_validate(detail)
    except ValidationError as error:
        raise Rejected("invalid", describe(error)) from None


def source() -> str:
    return os.environ.get("CATALOG_EVENT_SOURCE") or DEFAULT_SOURCE


# --- the consumer ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _sqs() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("sqs", config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3}))


def dead_letter(record: dict[str, Any], rejection: Rejected) -> bool:
    """``record`` to the dead-letter queue with why (``CATALOG_DLQ_URL``); whether it is there. Without
    a queue (the local stack) the refusal is only logged."""
    url = os.environ.get("CATALOG_DLQ_URL")
    if not url:
        return True
    try:
        _sqs().send_message(
            QueueUrl=url,
            MessageBody=str(record.get("body", ""))[:200_000],
            MessageAttributes={
                "code": {"DataType": "String", "StringValue": rejection.code},
                "reason": {"DataType": "String", "StringValue": rejection.reason[:1000]},
                "messageId": {"DataType": "String", "StringValue": str(record.get("messageId", ""))[:200]},
            },
        )
    except Exception:  # the message stays in the queue: retried, then redriven by SQS itself
        return False
    return True


def _event_of(record: dict[str, Any]) -> tuple[str, _Model, float | None]:
    """A queue message's EventBridge event → (detail type, model, the event's time as epoch seconds)."""
    try:
        event = json.loads(record.get("body") or "")
    except (TypeError, ValueError):
        raise Rejected("not_json") from None
    if not isinstance(event, dict):
        raise Rejected("not_json")
    if event.get("source") != source():
        raise Rejected("unknown_source")
    detail_type = event.get("detail-type")
    model = parse(detail_type, event.get("detail"))
    try:
        when = datetime.fromisoformat(str(event.get("time"))).astimezone(UTC).timestamp()
    except ValueError:
        when = None
    return str(detail_type), model, when


def handle_batch(event: dict[str, Any], database: Any = None) -> dict[str, Any]:
    """An SQS batch → the partial batch response: ``{"batchItemFailures": [{"itemIdentifier": id}]}``
    names the messages SQS should deliver again (Lambda's ReportBatchItemFailures)."""
    from cart_common import db
    from cart_common.oplog import logger

    records: list[dict[str, Any]] = list(event.get("Records") or [])
    failures: list[str] = []
    counts: dict[str, int] = {}
    items: list[dict[str, Any]] = []
    times: dict[int, float | None] = {}

    def refuse(index: int, rejection: Rejected) -> None:
        counts[rejection.code] = counts.get(rejection.code, 0) + 1
        record = records[index]
        if rejection.code in RETRYABLE or not dead_letter(record, rejection):
            failures.append(str(record.get("messageId")))
        logger.warning(
            "Catalog event refused",
            extra={"code": rejection.code, "reason": rejection.reason, "message_id": record.get("messageId")},
        )

    for index, record in enumerate(records):
        try:
            detail_type, model, when = _event_of(record)
        except Rejected as rejection:
            refuse(index, rejection)
            continue
        items.append(item_of(detail_type, model, index))
        times[index] = when
    if items:
        try:
            outcomes = (database or db.get_database()).run(lambda conn: store_sync.apply(conn, items))
        except Exception as exc:  # unavailable, or a race with another writer: every one again
            logger.warning("Catalog events not applied (delivered again)", extra={"error": type(exc).__name__})
            failures.extend(str(records[item["i"]].get("messageId")) for item in items)
            return {"batchItemFailures": [{"itemIdentifier": f} for f in failures]}
        now = time.time()
        lags = [int((now - when) * 1000) for index, when in times.items() if when is not None]
        for row in outcomes:
            if row["outcome"] in DONE:
                counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
            else:
                refuse(row["i"], Rejected(row["outcome"]))
        _metrics(counts, lags)
        logger.info(
            "Catalog events", extra={"outcomes": counts, "lag_ms": max(lags) if lags else None, "events": len(records)}
        )
    elif counts:
        _metrics(counts, [])
    return {"batchItemFailures": [{"itemIdentifier": f} for f in failures]}


def _metrics(counts: dict[str, int], lags: Sequence[int]) -> None:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics()
    applied = counts.get("applied", 0) + counts.get("clamped", 0)
    refused = sum(n for code, n in counts.items() if code not in DONE)
    metrics.add_metric(name="CatalogEventsApplied", unit=MetricUnit.Count, value=applied)
    metrics.add_metric(name="CatalogEventsRefused", unit=MetricUnit.Count, value=refused)
    if counts.get("clamped"):
        metrics.add_metric(name="CatalogStockClamped", unit=MetricUnit.Count, value=counts["clamped"])
    if lags:  # from the event's time to its commit here: what a shopper waits to see a change
        metrics.add_metric(name="CatalogEventLagMs", unit=MetricUnit.Milliseconds, value=max(lags))
