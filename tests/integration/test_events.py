"""The cart's events (issue 20): each one fires when it should, once, with ``eventId`` and
``occurredAt``; the outbox is written in the change's transaction and published after the commit
without a round trip of its own; a process killed between the commit and the publish loses nothing
(the relay publishes it, exactly once); a bus that fails never fails a change and reads no PII into
the logs. Against the real database, through the run's local bus (tests/conftest.py ``event_bus``)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from cart_common import carts, events
from cart_common.db import get_database
from cart_common.lifecycle import sweep
from local.bus import LocalBus
from tests.conftest import Shopper, User, free_port, one
from tests.integration.test_completion import checked_out, published
from tests.integration.test_database import round_trips


def swept() -> None:
    report = sweep(get_database(), lambda: 600_000)
    assert report.complete, report


def outbox(sql, detail_type: str, **match: str) -> list[dict[str, Any]]:
    """The outbox rows of ``detail_type`` whose detail has ``match``."""
    rows = sql.execute(
        "select id::text, detail, published_at from cart_event where detail_type = %s and detail @> %s::jsonb",
        (detail_type, json.dumps(match)),
    ).fetchall()
    return list(rows)


def idle(sql, cart_id: str) -> None:
    sql.execute("update cart set last_activity_at = now() - interval '25 hours' where id = %s", (cart_id,))


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Every record the layer's logger emits meanwhile (with its extra fields)."""
    caught: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            caught.append(record)

    handler = Catch(level=logging.DEBUG)
    logging.getLogger("cart-api").addHandler(handler)
    yield caught
    logging.getLogger("cart-api").removeHandler(handler)


@pytest.fixture
def dead_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The bus unreachable (nothing listens on its port) while the test runs."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", f"http://127.0.0.1:{free_port()}")
    events._client.cache_clear()
    yield
    monkeypatch.undo()
    events._client.cache_clear()


# --- when each event fires ------------------------------------------------------------------------


def test_a_checkout_announces_its_start_and_a_cart_change_its_release(
    user: User, make_product, event_bus: LocalBus
) -> None:
    product = make_product(stock=5, price=700)
    shopper, first = checked_out(user, product["id"], 2)
    (started,) = published(event_bus, "CheckoutStarted", checkoutId=first)
    assert started["userId"] == user.sub and started["currency"] == "USD" and started["expiresAt"]
    assert started["lines"] == [{"productId": product["id"], "variantId": None, "quantity": 2, "unitPrice": 700}]
    second = shopper.call("POST", "/cart/checkout").json["checkoutId"]  # checking out again replaces it
    (replaced,) = published(event_bus, "CheckoutReleased", checkoutId=first)
    assert replaced == {
        "checkoutId": first, "cartId": started["cartId"], "userId": user.sub, "reason": "cart_changed",
        "eventId": replaced["eventId"], "occurredAt": replaced["occurredAt"],
    }  # fmt: skip
    item = shopper.get().json["items"][0]["id"]
    shopper.update(item, quantity=1)
    assert [r["reason"] for r in published(event_bus, "CheckoutReleased", checkoutId=second)] == ["cart_changed"]
    assert len(published(event_bus, "CheckoutStarted", cartId=started["cartId"])) == 2


def test_a_merge_announces_the_guest_cart_merged_or_adopted(make_user: Callable[[], User], event_bus: LocalBus) -> None:
    from tests.conftest import MUG, POSTER

    guest = Shopper()
    guest_cart = guest.add(MUG).json["id"]
    newcomer = make_user()
    guest.bearer = newcomer.access_token
    assert guest.merge().status == 200  # the user had no cart: the guest cart becomes theirs
    (adopted,) = published(event_bus, "GuestCartMerged", guestCartId=guest_cart)
    assert adopted["outcome"] == "adopted" and adopted["cartId"] == guest_cart and adopted["userId"] == newcomer.sub

    regular = make_user()
    own = Shopper(bearer=regular.access_token).add(POSTER).json["id"]
    visitor = Shopper()
    visiting_cart = visitor.add(MUG).json["id"]
    visitor.bearer = regular.access_token
    visitor.get()  # the lazy merge: the first request still carrying the guest session
    (merged,) = published(event_bus, "GuestCartMerged", guestCartId=visiting_cart)
    assert (merged["outcome"], merged["cartId"], merged["userId"]) == ("merged", own, regular.sub)
    visitor.merge()  # a replay merges nothing: no second event
    assert len(published(event_bus, "GuestCartMerged", guestCartId=visiting_cart)) == 1


def test_the_sweep_announces_an_abandoned_cart_once_with_its_email_and_recovery_link(
    sql, user: User, make_product, event_bus: LocalBus, fresh_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREFRONT_URL", "https://shop.example")
    product = make_product(price=1500)
    shopper = Shopper(bearer=user.id_token)  # an ID token: the email is captured
    cart = shopper.add(product["id"], 2).json
    idle(sql, cart["id"])
    swept()
    swept()  # already marked: nothing new
    (abandoned,) = published(event_bus, "CartAbandoned", cartId=cart["id"])
    assert (abandoned["userId"], abandoned["email"], abandoned["value"], abandoned["currency"]) == (
        user.sub, user.email, 3000, "USD",
    )  # fmt: skip
    assert [(line["productId"], line["quantity"]) for line in abandoned["lines"]] == [(product["id"], 2)]
    assert abandoned["recoveryUrl"].startswith("https://shop.example/cart/recover?token=r1.")
    row = one(sql.execute("select abandoned_at from cart where id = %s", (cart["id"],)))
    assert datetime.fromisoformat(abandoned["abandonedAt"]) == row["abandoned_at"]
    # the outbox keeps no link (a bearer credential): it is made when the event is published
    (stored,) = outbox(sql, "CartAbandoned", cartId=cart["id"])
    assert "recoveryUrl" not in stored["detail"]


def test_a_converted_cart_that_had_been_abandoned_announces_its_recovery_with_the_order(
    sql, user: User, make_product, event_bus: LocalBus
) -> None:
    product = make_product(stock=5)
    shopper = Shopper(bearer=user.access_token)
    cart = shopper.add(product["id"]).json
    idle(sql, cart["id"])
    swept()
    checkout_id = shopper.call("POST", "/cart/checkout").json["checkoutId"]  # the shopper came back
    carts.complete_checkout(uuid.UUID(checkout_id), "order-won-back")
    carts.complete_checkout(uuid.UUID(checkout_id), "order-won-back")
    (recovered,) = published(event_bus, "CartRecovered", cartId=cart["id"])
    assert recovered["orderId"] == "order-won-back" and recovered["userId"] == user.sub
    assert recovered["abandonedValue"] == product["price"]


def test_saved_items_are_announced_once_per_item_and_change(sql, user: User, make_product, event_bus: LocalBus) -> None:
    product = make_product(stock=3, price=2000)
    shopper = Shopper(bearer=user.access_token)
    item = shopper.add(product["id"]).json["items"][0]["id"]
    saved = shopper.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": item}).json
    saved_id = saved["savedForLater"][0]["id"]
    sql.execute("update product set stock = 0 where id = %s", (product["id"],))
    swept()  # out of stock now: remembered, nothing to say
    assert not published(event_bus, "SavedItemBackInStock", savedItemId=saved_id)
    sql.execute("update product set stock = 4 where id = %s", (product["id"],))
    swept()
    swept()
    (back,) = published(event_bus, "SavedItemBackInStock", savedItemId=saved_id)
    assert (back["productId"], back["userId"], back["price"]) == (product["id"], user.sub, 2000)
    sql.execute("update product set stock = 0 where id = %s", (product["id"],))
    swept()
    sql.execute("update product set stock = 2 where id = %s", (product["id"],))
    swept()  # a second restock is a second change
    assert len(published(event_bus, "SavedItemBackInStock", savedItemId=saved_id)) == 2

    sql.execute("update product set price = 1800 where id = %s", (product["id"],))
    swept()
    swept()
    sql.execute("update product set price = 1900 where id = %s", (product["id"],))  # up again: no news
    swept()
    sql.execute("update product set price = 1500 where id = %s", (product["id"],))
    swept()
    drops = published(event_bus, "SavedItemPriceDropped", savedItemId=saved_id)
    assert [(d["previousPrice"], d["price"], d["priceAtSave"]) for d in drops] == [
        (2000, 1800, 2000),
        (1800, 1500, 2000),
    ]


# --- the outbox and publishing ---------------------------------------------------------------------------


def test_every_event_carries_its_outbox_id_and_time_and_its_row_is_marked_by_the_next_pipeline(
    sql, user: User, make_product, event_bus: LocalBus
) -> None:
    product = make_product()
    shopper, checkout_id = checked_out(user, product["id"], 1)
    (started,) = published(event_bus, "CheckoutStarted", checkoutId=checkout_id)
    (row,) = outbox(sql, "CheckoutStarted", checkoutId=checkout_id)
    assert started["eventId"] == row["id"] and row["published_at"] is None  # the mark has not travelled yet
    (entry,) = [e for e in event_bus.events if e["detail"].get("eventId") == row["id"]]
    assert entry["source"] == "cart.api" and entry["time"].endswith("Z")
    shopper.get()  # the function's next pipeline carries the mark
    (row,) = outbox(sql, "CheckoutStarted", checkoutId=checkout_id)
    assert row["published_at"] is not None


def test_a_change_refused_after_a_publish_does_not_take_the_mark_with_it(
    sql, user: User, make_product, event_bus: LocalBus
) -> None:
    product = make_product()
    shopper, checkout_id = checked_out(user, product["id"], 1)
    # the next request is refused in SQL: its pipeline, and the mark at its front, roll back
    refused = shopper.update(str(uuid.uuid4()), quantity=2)
    assert refused.status == 404 and refused.json["code"] == "item_not_found"
    (row,) = outbox(sql, "CheckoutStarted", checkoutId=checkout_id)
    assert row["published_at"] is None
    shopper.get()  # the mark goes again, and commits
    (row,) = outbox(sql, "CheckoutStarted", checkoutId=checkout_id)
    assert row["published_at"] is not None
    assert len(published(event_bus, "CheckoutStarted", checkoutId=checkout_id)) == 1


def test_publishing_costs_a_change_no_round_trip(user: User, make_product, event_bus: LocalBus) -> None:
    product = make_product()
    shopper = Shopper(bearer=user.access_token)
    shopper.add(product["id"])
    before = len(event_bus.events)
    assert round_trips(lambda: shopper.call("POST", "/cart/checkout")) == 1  # it wrote and published an event
    assert len(event_bus.events) > before
    assert round_trips(shopper.get) == 1  # and the next request carries the mark in its own round trip


def test_a_bus_that_fails_never_fails_the_change_and_logs_no_pii(
    sql, user: User, make_product, event_bus: LocalBus, records: list[logging.LogRecord], dead_bus: None
) -> None:
    product = make_product()
    shopper = Shopper(bearer=user.id_token)  # the email is captured: CartAbandoned will carry it
    cart = shopper.add(product["id"]).json
    reply = shopper.call("POST", "/cart/checkout")
    assert reply.status == 200  # committed, whatever the bus says
    checkout_id = reply.json["checkoutId"]
    idle(sql, cart["id"])
    swept()
    assert not published(event_bus, "CheckoutStarted", checkoutId=checkout_id)
    assert not published(event_bus, "CartAbandoned", cartId=cart["id"])
    failures = [r for r in records if r.getMessage().startswith("Events not published")]
    assert {"CheckoutStarted", "CartAbandoned"} <= {t for r in failures for t in r.__dict__["detail_types"]}
    assert all(set(r.__dict__["errors"]) == {"EndpointConnectionError"} for r in failures)
    leaks = [(r.getMessage(), k) for r in records for k, v in r.__dict__.items() if user.email in str(v)]
    assert not leaks  # no line of the request or the sweep carries the email (CartAbandoned's detail does)
    assert not [r for r in failures if cart["id"] in str(r.__dict__)]  # types and error codes, never a detail
    for detail_type, match in (
        ("CheckoutStarted", {"checkoutId": checkout_id}),
        ("CartAbandoned", {"cartId": cart["id"]}),
    ):
        (row,) = outbox(sql, detail_type, **match)
        assert row["published_at"] is None, detail_type  # waiting for the relay


def test_the_relay_publishes_what_the_bus_missed_exactly_once(
    sql, user: User, make_product, event_bus: LocalBus
) -> None:
    product = make_product()
    _, checkout_id = checked_out(user, product["id"], 1)
    # a row the process could not publish (its bus was down)
    sql.execute(
        "insert into cart_event (detail_type, detail, created_at) values ('CheckoutReleased', %s::jsonb, now() - interval '1 minute')",
        (json.dumps({"checkoutId": checkout_id, "reason": "test"}),),
    )
    report = events.relay(grace_s=30)
    assert report["published"] >= 1 and report["failed"] == 0
    events.relay(grace_s=30)
    (released,) = published(event_bus, "CheckoutReleased", checkoutId=checkout_id)
    assert released["reason"] == "test"
    (row,) = outbox(sql, "CheckoutReleased", checkoutId=checkout_id)
    assert row["published_at"] is not None


def test_an_event_is_never_lost_when_the_process_dies_between_commit_and_publish(
    sql, user: User, make_product, event_bus: LocalBus
) -> None:
    product = make_product(stock=3)
    _, checkout_id = checked_out(user, product["id"], 1)
    # A function that commits the release, then dies before it can publish (os._exit: no clean-up).
    script = textwrap.dedent(f"""
        import os, uuid
        from cart_common import carts, events
        events.publish = lambda conn, rows: os._exit(17)
        carts.release_checkout(uuid.UUID("{checkout_id}"), "cancelled")
        os._exit(0)  # not reached: the publish comes first
    """)
    died = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), timeout=120, capture_output=True)
    assert died.returncode == 17, died.stderr.decode()[-2000:]
    assert one(sql.execute("select status from checkout where id = %s", (checkout_id,)))["status"] == "released"
    (row,) = outbox(sql, "CheckoutReleased", checkoutId=checkout_id)
    assert row["published_at"] is None and not published(event_bus, "CheckoutReleased", checkoutId=checkout_id)
    sql.execute("update cart_event set created_at = created_at - interval '31 seconds' where id = %s", (row["id"],))
    events.relay()  # the scheduled relay, 30 s after the commit
    events.relay()
    (released,) = published(event_bus, "CheckoutReleased", checkoutId=checkout_id)
    assert released["eventId"] == row["id"] and released["reason"] == "cancelled"
