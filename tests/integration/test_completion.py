"""Completing a checkout (issue 20): exactly once per order under replayed and concurrent events, stock
never below 0, a lapsed reservation completed only while its stock is still there, the order service's
release, the consumer on the bus and the IAM routes. Against the real database, through the run's
local bus (tests/conftest.py ``event_bus``)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from cart_common import carts
from cart_common.db import Database
from cart_common.errors import CheckoutCompletionFailed, CheckoutConflict, CheckoutExpired
from local import stack
from local.bus import LocalBus
from tests.conftest import Reply, Shopper, User, http_event, one, routes

ORDERS = "shop.orders"  # OrderEventSource's default


def published(bus: LocalBus, detail_type: str, **match: Any) -> list[dict[str, Any]]:
    """The details of ``detail_type`` events on the run's bus whose fields equal ``match``."""
    return [
        event["detail"]
        for event in bus.events
        if event["detail-type"] == detail_type and all(event["detail"].get(k) == v for k, v in match.items())
    ]


def stock(sql, product_id: str) -> int:
    return one(sql.execute("select stock from product where id = %s", (product_id,)))["stock"]


def checked_out(user: User, product_id: str, quantity: int) -> tuple[Shopper, str]:
    shopper = Shopper(bearer=user.access_token)
    assert shopper.add(product_id, quantity).status == 200
    reply = shopper.call("POST", "/cart/checkout")
    assert reply.status == 200, reply
    return shopper, reply.json["checkoutId"]


def lapse(sql, checkout_id: str) -> None:
    sql.execute("update checkout set expires_at = now() - interval '1 minute' where id = %s", (checkout_id,))


def call(method: str, path: str, checkout_id: str, body: Any = None) -> Reply:
    """An IAM-signed call of the order service (API Gateway checked the signature before the function)."""
    route = routes()[(method, path)]
    event = http_event(method, path, path_params={"checkoutId": checkout_id}, body=body)
    return Reply(stack.load_function(route)(event, stack.LambdaContext(route.function, 10)))


# --- exactly once -----------------------------------------------------------------------------------


def test_given_a_paid_checkout_when_payment_succeeded_arrives_three_times_then_it_completes_once(
    user: User, make_product, sql, event_bus: LocalBus
) -> None:
    product = make_product(stock=5, price=1250)
    _, checkout_id = checked_out(user, product["id"], 2)
    for _ in range(3):  # EventBridge delivers at least once
        event_bus.put(ORDERS, "PaymentSucceeded", {"checkoutId": checkout_id, "orderId": "order-3x"})
    assert stock(sql, product["id"]) == 3
    (completed,) = published(event_bus, "CheckoutCompleted", checkoutId=checkout_id)
    assert completed["orderId"] == "order-3x" and completed["userId"] == user.sub
    (line,) = completed["lines"]
    assert line | {"name": None} == {
        "productId": product["id"], "variantId": None, "name": None, "sku": None, "quantity": 2, "unitPrice": 1250,
        "lineTotal": 2500,
    }  # fmt: skip
    assert line["name"].startswith("Product ") and completed["currency"] == "USD"
    totals = completed["totals"]
    assert totals["subtotal"] == 2500 and totals["discount"] == 0 and "freeShippingRemaining" not in totals
    assert totals["total"] == 2500 + totals["shipping"] + (0 if totals["taxIncluded"] else totals["tax"])
    assert "discountRows" not in completed
    assert uuid.UUID(completed["eventId"]) and completed["occurredAt"]
    assert not published(event_bus, "CheckoutCompletionFailed", checkoutId=checkout_id)
    assert one(sql.execute("select order_id, status from checkout where id = %s", (checkout_id,))) == {
        "order_id": "order-3x", "status": "completed",
    }  # fmt: skip


def test_given_duplicate_completions_racing_on_their_own_connections_then_one_completes_and_the_rest_replay(
    user: User, make_product, sql, event_bus: LocalBus
) -> None:
    product = make_product(stock=4)
    _, checkout_id = checked_out(user, product["id"], 3)
    results: list[Any] = []
    start = threading.Barrier(8)

    def complete() -> None:
        database = Database()  # an execution environment of its own, as concurrent Lambdas have
        start.wait()
        try:
            results.append(carts.complete_checkout(uuid.UUID(checkout_id), "order-race", database))
        except Exception as exc:
            results.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=complete) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(not isinstance(result, Exception) for result in results), results
    assert sorted(result.replay for result in results) == [False] + [True] * 7
    assert stock(sql, product["id"]) == 1
    assert len(published(event_bus, "CheckoutCompleted", checkoutId=checkout_id)) == 1


def test_given_a_completed_checkout_when_another_order_completes_it_then_it_is_a_conflict_and_nothing_is_sold(
    user: User, make_product, sql, event_bus: LocalBus
) -> None:
    product = make_product(stock=5)
    _, checkout_id = checked_out(user, product["id"], 1)
    carts.complete_checkout(uuid.UUID(checkout_id), "order-a")
    with pytest.raises(CheckoutConflict) as conflict:
        carts.complete_checkout(uuid.UUID(checkout_id), "order-b")
    assert conflict.value.extensions["completedOrderId"] == "order-a"
    assert stock(sql, product["id"]) == 4
    (failed,) = published(event_bus, "CheckoutCompletionFailed", checkoutId=checkout_id)
    assert failed["orderId"] == "order-b" and failed["reason"] == "conflict" and failed["completedOrderId"] == "order-a"


# --- lapsed reservations, stock never below 0 ----------------------------------------------------------


def test_given_a_lapsed_reservation_whose_stock_is_still_there_when_paid_then_it_completes(
    user: User, make_product, sql, event_bus: LocalBus
) -> None:
    product = make_product(stock=2)
    _, checkout_id = checked_out(user, product["id"], 2)
    lapse(sql, checkout_id)
    done = carts.complete_checkout(uuid.UUID(checkout_id), "order-late")
    assert not done.replay and stock(sql, product["id"]) == 0
    (completed,) = published(event_bus, "CheckoutCompleted", checkoutId=checkout_id)
    assert completed["reservationLapsed"] is True


def test_given_a_lapsed_reservation_whose_stock_another_shopper_holds_then_completion_fails_and_sells_nothing(
    make_user: Callable[[], User], make_product, sql, event_bus: LocalBus
) -> None:
    product = make_product(stock=3)
    _, late = checked_out(make_user(), product["id"], 3)
    lapse(sql, late)
    _, current = checked_out(make_user(), product["id"], 2)  # the lapsed hold counts for nothing
    with pytest.raises(CheckoutCompletionFailed) as failure:
        carts.complete_checkout(uuid.UUID(late), "order-late")
    short = [{"productId": product["id"], "variantId": None, "quantity": 3, "available": 1}]
    assert failure.value.extensions["linesShort"] == short
    assert stock(sql, product["id"]) == 3
    (failed,) = published(event_bus, "CheckoutCompletionFailed", checkoutId=late)
    assert failed["reason"] == "insufficient_stock" and failed["linesShort"] == short
    assert failed["orderId"] == "order-late"
    carts.complete_checkout(uuid.UUID(current), "order-current")  # the holder's own completes
    assert stock(sql, product["id"]) == 1


def test_stock_never_goes_below_zero_when_a_lapsed_and_a_current_checkout_complete_at_once(
    make_user: Callable[[], User], make_product, sql, event_bus: LocalBus
) -> None:
    for _ in range(3):
        product = make_product(stock=2)
        _, lapsed = checked_out(make_user(), product["id"], 2)
        lapse(sql, lapsed)
        _, holding = checked_out(make_user(), product["id"], 2)
        outcomes: dict[str, Any] = {}
        start = threading.Barrier(2)

        def complete(checkout_id: str, order: str, outcomes: dict[str, Any] = outcomes) -> None:
            database = Database()
            start.wait()
            try:
                outcomes[checkout_id] = carts.complete_checkout(uuid.UUID(checkout_id), order, database)
            except Exception as exc:
                outcomes[checkout_id] = exc
            finally:
                database.close()

        threads = [threading.Thread(target=complete, args=args) for args in ((lapsed, "o-1"), (holding, "o-2"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert isinstance(outcomes[lapsed], CheckoutCompletionFailed), outcomes
        assert not isinstance(outcomes[holding], Exception), outcomes
        assert stock(sql, product["id"]) == 0


# --- release ------------------------------------------------------------------------------------------


def test_given_payment_failed_then_the_reservation_is_released_once_and_its_stock_is_free(
    make_user: Callable[[], User], make_product, sql, event_bus: LocalBus
) -> None:
    product = make_product(stock=2)
    _, checkout_id = checked_out(make_user(), product["id"], 2)
    for _ in range(2):
        event_bus.put(ORDERS, "PaymentFailed", {"checkoutId": checkout_id})
    (released,) = published(event_bus, "CheckoutReleased", checkoutId=checkout_id)
    assert released["reason"] == "payment_failed"
    other = Shopper(bearer=make_user().access_token)
    other.add(product["id"], 2)
    assert other.call("POST", "/cart/checkout").status == 200  # nothing held any more
    event_bus.put(ORDERS, "PaymentSucceeded", {"checkoutId": checkout_id, "orderId": "order-after-failure"})
    (failed,) = published(event_bus, "CheckoutCompletionFailed", checkoutId=checkout_id)
    assert failed["reason"] == "released"
    assert stock(sql, product["id"]) == 2
    with pytest.raises(CheckoutExpired):
        carts.complete_checkout(uuid.UUID(checkout_id), "order-after-failure")


def test_the_consumer_sends_a_malformed_event_to_its_retries_and_dead_letters_not_to_the_database(
    event_bus: LocalBus,
) -> None:
    before = len(event_bus.failures)
    event_bus.put(ORDERS, "PaymentSucceeded", {"checkoutId": "not-a-uuid", "orderId": "x"})
    event_bus.put(ORDERS, "PaymentSucceeded", {"checkoutId": str(uuid.uuid4())})  # no orderId
    assert event_bus.failures[before:] == ["CheckoutEventsFunction: ValueError"] * 2


# --- the IAM routes ---------------------------------------------------------------------------------------


def test_the_order_services_routes_complete_and_release_as_the_events_do(
    make_user: Callable[[], User], make_product, sql, event_bus: LocalBus
) -> None:
    product = make_product(stock=5)
    user = make_user()
    _, checkout_id = checked_out(user, product["id"], 2)
    path = "/checkouts/{checkoutId}/complete"
    done = call("POST", path, checkout_id, {"orderId": "order-http"})
    assert done.status == 200, done
    assert done.json == {
        "checkoutId": checkout_id, "cartId": done.json["cartId"], "userId": user.sub, "recovered": False,
        "orderId": "order-http", "replay": False,
    }  # fmt: skip
    assert call("POST", path, checkout_id, {"orderId": "order-http"}).json["replay"] is True
    conflict = call("POST", path, checkout_id, {"orderId": "order-other"})
    assert conflict.status == 409 and conflict.json["code"] == "checkout_conflict"
    assert call("POST", path, str(uuid.uuid4()), {"orderId": "o"}).json["code"] == "checkout_not_found"
    assert call("POST", path, checkout_id, {"orderId": "", "x": 1}).status == 422
    assert stock(sql, product["id"]) == 3

    _, second = checked_out(make_user(), product["id"], 1)
    release = "/checkouts/{checkoutId}/release"
    assert call("POST", release, second, {"reason": "cancelled"}).json == {"checkoutId": second, "outcome": "released"}
    assert call("POST", release, second).json["outcome"] == "already_released"
    assert call("POST", release, checkout_id).json["code"] == "checkout_conflict"  # completed: cancel the order
    (released,) = published(event_bus, "CheckoutReleased", checkoutId=second)
    assert released["reason"] == "cancelled"
