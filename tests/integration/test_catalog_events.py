"""The shop's catalog events (cart_common/catalog_sync.py, migration 0015) on real PostgreSQL: through
the local bus's queue rule into CatalogEventsFunction, as the stack delivers them, and straight into
the consumer with SQS batches (moto's SQS for the dead-letter queue)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from psycopg.rows import DictRow

from cart_common import catalog_sync
from local import bus as local_bus
from tests.conftest import Shopper, one

SOURCE = "shop.catalog"
EXAMPLES = settings(max_examples=30, deadline=None)


def product_detail(version: int, *, product_id: str | None = None, **fields: Any) -> dict[str, Any]:
    product_id = product_id or str(uuid.uuid4())
    return {
        "id": product_id, "version": version, "name": f"Lamp {product_id[:8]}", "slug": f"lamp-{product_id}",
        "price": 1000, "currency": "USD", "stock": 10, **fields,
    }  # fmt: skip


def sqs_batch(*events: tuple[str, Any], source: str = SOURCE) -> dict[str, Any]:
    """An SQS batch of EventBridge events, as the event source mapping hands it to the consumer."""
    records = []
    for detail_type, detail in events:
        body = json.dumps(
            {"version": "0", "id": str(uuid.uuid4()), "source": source, "detail-type": detail_type,
             "time": "2025-01-01T00:00:00Z", "detail": detail}
        )  # fmt: skip
        records.append({"messageId": str(uuid.uuid4()), "body": body})
    return {"Records": records}


def consume(*events: tuple[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The consumer's answer to a batch of ``events`` and the batch's message ids, in order."""
    batch = sqs_batch(*events)
    return catalog_sync.handle_batch(batch), [record["messageId"] for record in batch["Records"]]


def failed(answer: dict[str, Any]) -> set[str]:
    return {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}


def product_row(sql: psycopg.Connection[DictRow], product_id: str) -> dict[str, Any]:
    return one(sql.execute("select name, price, stock, active, version from product where id = %s", (product_id,)))


@pytest.fixture
def dead_letters(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's SQS with the catalog dead-letter queue, named in CATALOG_DLQ_URL; yields a reader of its
    messages as (code, reason, body)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="catalog-dlq")["QueueUrl"]
        monkeypatch.setenv("CATALOG_DLQ_URL", url)
        catalog_sync._sqs.cache_clear()

        def read() -> list[tuple[str, str, str]]:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
            return [
                (
                    m["MessageAttributes"]["code"]["StringValue"],
                    m["MessageAttributes"]["reason"]["StringValue"],
                    m["Body"],
                )
                for m in messages.get("Messages", [])
            ]

        yield read
        catalog_sync._sqs.cache_clear()


# --- through the local bus, as make dev and the stack deliver them ---------------------------------


def test_a_price_change_on_the_bus_shows_as_price_changed_on_the_next_cart_read(
    event_bus: local_bus.LocalBus, shopper: Shopper, make_product
) -> None:
    """Given a line added at 1000, when the shop's PriceChanged reaches the bus, then the next GET /cart
    shows the new price and priceChanged on the line."""
    product = make_product(price=1000)
    assert shopper.add(product["id"]).status == 200
    failures_before = len(event_bus.failures)
    event_bus.put(SOURCE, "PriceChanged", {"productId": product["id"], "version": 5, "price": 1200, "currency": "USD"})
    assert len(event_bus.failures) == failures_before
    line = shopper.get().json["items"][0]
    assert line["unitPrice"] == 1200 and line["priceChanged"] is True


def test_stock_set_to_zero_makes_validate_refuse_and_offer_the_other_variants(
    event_bus: local_bus.LocalBus, shopper: Shopper, make_product
) -> None:
    product = make_product(
        variants=[{"stock": 5, "attributes": {"size": "S"}}, {"stock": 3, "attributes": {"size": "M"}}]
    )
    small, medium = (v["id"] for v in product["variants"])
    assert shopper.add(product["id"], 1, variant_id=small).status == 200
    event_bus.put(SOURCE, "StockSet", {"productId": product["id"], "variantId": small, "version": 9, "stock": 0})
    reply = shopper.call("POST", "/cart/validate", body={})
    assert reply.json["valid"] is False
    issue = next(i for i in reply.json["issues"] if i["type"] == "out_of_stock")
    assert [(a["variantId"], a["available"]) for a in issue["alternatives"]] == [(medium, 3)]


def test_an_event_of_another_source_reaches_no_consumer(event_bus: local_bus.LocalBus, make_product, sql) -> None:
    product = make_product(price=1000)
    event_bus.put(
        "someone.else", "PriceChanged", {"productId": product["id"], "version": 5, "price": 1, "currency": "USD"}
    )
    assert product_row(sql, product["id"])["price"] == 1000


# --- the consumer: ordering, idempotency, refusals -------------------------------------------------


def test_out_of_order_and_replayed_upserts_leave_the_newest_state(sql: psycopg.Connection[DictRow]) -> None:
    newest = product_detail(3, name="Lamp three", price=300)
    pid = newest["id"]
    older = [product_detail(v, product_id=pid, name=f"Lamp v{v}", price=v * 100) for v in (1, 2)]
    answer, _ = consume(("ProductUpserted", older[0]), ("ProductUpserted", newest), ("ProductUpserted", older[1]))
    assert failed(answer) == set()
    assert consume(("ProductUpserted", newest))[0] == {"batchItemFailures": []}  # a replay
    assert product_row(sql, pid) == {"name": "Lamp three", "price": 300, "stock": 10, "active": True, "version": 3}


def test_a_price_change_older_than_the_upsert_changes_nothing_and_a_newer_one_applies(sql) -> None:
    detail = product_detail(10, price=500)
    pid = detail["id"]
    consume(("ProductUpserted", detail))
    consume(("PriceChanged", {"productId": pid, "version": 9, "price": 1, "currency": "USD"}))
    assert product_row(sql, pid)["price"] == 500
    consume(("PriceChanged", {"productId": pid, "version": 11, "price": 700, "currency": "USD"}))
    consume(("ProductUpserted", product_detail(10, product_id=pid, price=500)))  # replayed after: no-op
    assert product_row(sql, pid)["price"] == 700


def test_stock_adjustments_apply_once_count_after_a_set_and_never_go_below_zero(sql) -> None:
    detail = product_detail(1, stock=5)
    pid = detail["id"]
    consume(("ProductUpserted", detail))
    adjust = ("StockAdjusted", {"productId": pid, "version": 3, "delta": -2})
    consume(adjust, adjust)  # one message delivered twice in a batch
    assert product_row(sql, pid)["stock"] == 3
    # A count taken at version 2 arrives late: it is the stock before the adjustment at 3.
    consume(("StockSet", {"productId": pid, "version": 2, "stock": 20}))
    assert product_row(sql, pid)["stock"] == 18
    consume(("StockAdjusted", {"productId": pid, "version": 2, "delta": -100}))  # counted by the set already
    assert product_row(sql, pid)["stock"] == 18
    consume(("StockAdjusted", {"productId": pid, "version": 4, "delta": -50}))  # the shop oversold: 0, not -32
    assert product_row(sql, pid)["stock"] == 0


def test_retired_products_stop_selling_and_an_older_upsert_does_not_bring_them_back(sql) -> None:
    detail = product_detail(4)
    consume(("ProductUpserted", detail), ("ProductRetired", {"productId": detail["id"], "version": 5}))
    consume(("ProductUpserted", detail))
    assert product_row(sql, detail["id"])["active"] is False


def test_an_event_about_an_unknown_product_is_delivered_again_and_applies_once_it_exists(sql) -> None:
    detail = product_detail(1)
    stock = ("StockSet", {"productId": detail["id"], "version": 2, "stock": 4})
    answer, ids = consume(stock, ("ProductRetired", {"productId": str(uuid.uuid4()), "version": 1}))
    assert failed(answer) == set(ids)  # both may pass later: SQS delivers them again, then dead-letters
    consume(("ProductUpserted", detail))
    assert failed(consume(stock)[0]) == set()
    assert product_row(sql, detail["id"])["stock"] == 4


def test_malformed_events_go_to_the_dead_letter_queue_with_their_reason_and_the_rest_apply(
    dead_letters: Any, sql: psycopg.Connection[DictRow]
) -> None:
    good = product_detail(1)
    taken = product_detail(1, slug=good["slug"])  # another product, the same slug
    consume(("ProductUpserted", good))
    answer, _ = consume(
        ("StockSet", {"productId": good["id"], "version": 2, "stock": -1}),
        ("PriceChanged", {"productId": good["id"], "version": 2, "price": "12", "currency": "USD"}),
        ("ProductUpserted", {**product_detail(1), "name": "x" * 100_000}),
        ("ProductUpserted", taken),
        ("CatalogExploded", {"productId": good["id"]}),
    )
    assert failed(answer) == set()  # refused for good: none of them will ever apply
    codes = sorted(code for code, _, _ in dead_letters())
    assert codes == ["invalid", "invalid", "invalid", "slug_taken", "unknown_type"]
    assert product_row(sql, good["id"])["stock"] == 10 and product_row(sql, good["id"])["price"] == 1000
    assert sql.execute("select 1 from product where id = %s", (taken["id"],)).fetchone() is None


def test_a_batch_the_database_cannot_take_is_delivered_again_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from cart_common.errors import DatabaseUnavailable

    class Down:
        def run(self, work: Any) -> Any:
            raise DatabaseUnavailable()

    batch = sqs_batch(
        ("ProductUpserted", product_detail(1)), ("ProductRetired", {"productId": str(uuid.uuid4()), "version": 1})
    )
    answer = catalog_sync.handle_batch(batch, database=Down())
    assert failed(answer) == {record["messageId"] for record in batch["Records"]}


# --- generated input ------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
_hostile_fields = st.fixed_dictionaries(
    {},
    optional={
        "version": _json | st.integers(min_value=-(2**70), max_value=2**70),
        "price": _json | st.integers(min_value=-(2**40), max_value=2**64),
        "stock": _json | st.integers(min_value=-(2**40), max_value=2**40),
        "delta": _json | st.integers(min_value=-(2**40), max_value=2**40),
        "currency": _json | st.sampled_from(["USD", "usd", "EUR", "US"]),
        "name": _json | st.text(min_size=0, max_size=300),
        "slug": _json | st.text(max_size=120),
        "variantId": _json | st.uuids().map(str),
        "variants": _json,
    },
)


@EXAMPLES
@given(
    detail_type=st.sampled_from([*catalog_sync.DETAIL_TYPES, "Other"]),
    fields=_hostile_fields,
    keep_id=st.booleans(),
)
def test_hostile_events_are_refused_whole_or_applied_whole_never_raise(
    database_url: str, detail_type: str, fields: dict[str, Any], keep_id: bool
) -> None:
    """Whatever the detail, the consumer answers (no exception: no 500 in Lambda's terms), and the
    product either is exactly as before or took the event whole."""
    with psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as sql:
        base = product_detail(100, stock=7, price=700)
        consume(("ProductUpserted", base))
        before = product_row(sql, base["id"])
        detail = {"productId": base["id"], **({"id": base["id"]} if keep_id else {}), **fields}
        note(json.dumps(detail, default=str)[:500])
        answer, _ = consume((detail_type, detail))
        after = product_row(sql, base["id"])
        try:
            model = catalog_sync.parse(detail_type, detail)
        except catalog_sync.Rejected:
            assert after == before  # refused: nothing written
            assert failed(answer) == set()  # dead-lettered (or only logged without a queue), not retried
            return
        if getattr(model, "version", 0) <= 100 or (
            isinstance(model, catalog_sync.PriceChanged) and model.currency != "USD"
        ):
            assert after == before  # older than what is there, or refused by the database's checks
        assert after["stock"] >= 0


_versions = st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=8, unique=True)


@EXAMPLES
@given(
    sets=st.dictionaries(st.integers(min_value=1, max_value=30), st.integers(min_value=0, max_value=50), max_size=4),
    deltas=st.dictionaries(st.integers(min_value=1, max_value=30), st.integers(min_value=-5, max_value=20), max_size=5),
    order=st.randoms(use_true_random=False),
    replays=st.integers(min_value=0, max_value=3),
)
def test_stock_ends_the_same_whatever_order_and_replays_of_its_events(
    database_url: str, sets: dict[int, int], deltas: dict[int, int], order: Any, replays: int
) -> None:
    """The stock after any arrival order (and replays) of StockSet and StockAdjusted events is what
    the newest set plus the later deltas give, in version order, when no step would go below 0."""
    deltas = {v: d for v, d in deltas.items() if v not in sets}  # one event per version
    with psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as sql:
        base = product_detail(0, stock=10)
        consume(("ProductUpserted", base))
        pid = base["id"]
        events = [("StockSet", {"productId": pid, "version": v, "stock": s}) for v, s in sets.items()]
        events += [("StockAdjusted", {"productId": pid, "version": v, "delta": d}) for v, d in deltas.items()]
        events += [order.choice(events) for _ in range(replays)] if events else []
        order.shuffle(events)
        for event in events:
            consume(event)
        newest_set = max(sets, default=0)
        expected = sets.get(newest_set, 10) + sum(d for v, d in deltas.items() if v > newest_set)
        stock = product_row(sql, pid)["stock"]
        # Clamping at 0 on the way can only leave more than the sum; without it, exactly the sum.
        assert (
            stock == expected if expected >= 0 and all(d >= 0 for d in deltas.values()) else stock >= max(expected, 0)
        )
