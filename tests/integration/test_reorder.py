""" "Buy again" (POST /cart/reorder, issue 23): a completed order's lines added back to the signed-in
shopper's cart by the rules of an add, what fits added and the rest reported line by line; through
the Lambda handlers on real PostgreSQL, orders completed as the order service completes them."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from cart_common import carts
from tests.conftest import MUG, TSHIRT, TSHIRT_M_RED, Lines, Shopper, User
from tests.integration.test_analytics import refusals as analytics_refusals
from tests.integration.test_cart_api import assert_problem
from tests.integration.test_database import round_trips


def reorder(shopper: Shopper, order_id: str, **kwargs: Any):
    return shopper.call("POST", "/cart/reorder", body={"orderId": order_id}, **kwargs)


def ordered(user: User, lines: list[tuple[str, int, str | None]], **attributes: Any) -> str:
    """``user`` buys ``lines`` (product, quantity, variant): checkout, then the order service's
    completion; the order's id."""
    shopper = Shopper(bearer=user.access_token)
    for product, quantity, variant in lines:
        assert shopper.add(product, quantity, variant_id=variant, **attributes).status == 200
    checkout = shopper.call("POST", "/cart/checkout")
    assert checkout.status == 200, checkout
    order_id = f"order-{uuid.uuid4().hex[:12]}"
    done = carts.complete_checkout(UUID(checkout.json["checkoutId"]), order_id)
    assert not done.replay
    return order_id


def quantities(cart: dict) -> dict[tuple[str, str | None], int]:
    return {(i["productId"], i["variantId"]): i["quantity"] for i in cart["items"]}


def test_buying_an_order_again_puts_its_lines_back_in_the_cart(user: User, make_product) -> None:
    # Given a completed order of two lines (one of them with the shopper's own attribute)
    product = make_product(stock=20)
    order = ordered(user, [(product["id"], 2, None), (TSHIRT, 1, TSHIRT_M_RED)], attributes={"gift": True})
    shopper = Shopper(bearer=user.access_token)
    empty = shopper.get().json
    assert empty["items"] == []  # the order's cart was converted: the shopper's cart is a new one
    # When the shopper buys it again
    trips: list[Any] = []
    assert round_trips(lambda: trips.append(reorder(shopper, order))) == 1
    (reply,) = trips
    # Then its lines are in the cart, added in one change, and nothing was skipped
    assert reply.status == 200, reply
    assert quantities(reply.json["cart"]) == {(product["id"], None): 2, (TSHIRT, TSHIRT_M_RED): 1}
    assert all(item["attributes"]["gift"] is True for item in reply.json["cart"]["items"])
    assert sorted((a["productId"], a["quantity"]) for a in reply.json["added"]) == sorted(
        [(product["id"], 2), (TSHIRT, 1)]
    )
    assert reply.json["skipped"] == []
    assert reply.headers["ETag"] == f'"{reply.json["cart"]["version"]}"'
    assert shopper.get().json == reply.json["cart"]


def test_buying_again_adds_to_the_lines_the_cart_already_has(user: User, make_product) -> None:
    product = make_product(stock=20)
    order = ordered(user, [(product["id"], 2, None)])
    shopper = Shopper(bearer=user.access_token)
    before = shopper.add(product["id"], 3).json
    reply = reorder(shopper, order)
    assert reply.status == 200, reply
    assert quantities(reply.json["cart"]) == {(product["id"], None): 5}
    assert reply.json["cart"]["version"] == before["version"] + 1


def test_what_cannot_be_added_now_is_reported_line_by_line_and_the_rest_is_added(
    user: User, make_product, sql, logged: Lines
) -> None:
    # Given an order of three products; since then one is no longer sold and one is short
    kept, retired, short = make_product(stock=20), make_product(stock=20), make_product(stock=20)
    order = ordered(user, [(kept["id"], 1, None), (retired["id"], 2, None), (short["id"], 4, None)])
    sql.execute("update product set active = false where id = %s", (retired["id"],))
    sql.execute("update product set stock = 3 where id = %s", (short["id"],))
    logged.clear()
    counted = analytics_refusals(sql)
    # When the shopper buys it again
    reply = reorder(Shopper(bearer=user.access_token), order)
    # Then what can be added is, and each line that cannot is named with its single add's problem
    assert reply.status == 200, reply
    assert quantities(reply.json["cart"]) == {(kept["id"], None): 1}
    assert [(a["productId"], a["quantity"]) for a in reply.json["added"]] == [(kept["id"], 1)]
    skipped = {s["productId"]: s for s in reply.json["skipped"]}
    assert set(skipped) == {retired["id"], short["id"]}
    assert (skipped[retired["id"]]["code"], skipped[retired["id"]]["status"]) == ("product_not_found", 404)
    assert skipped[retired["id"]]["quantity"] == 2
    assert skipped[retired["id"]]["name"].startswith("Product ")  # what a shopper is told about
    stock = skipped[short["id"]]
    assert (stock["code"], stock["maxAvailable"], stock["quantity"], stock["detail"]) == (
        "insufficient_stock", 3, 4, "Only 3 available",
    )  # fmt: skip
    assert sorted(s["index"] for s in reply.json["skipped"]) == [1, 2]  # the order's lines, from 0
    after = analytics_refusals(sql)  # the short line is a refusal for stock (not found counts under no reason)
    assert {k: after[k] - counted[k] for k in after} == {"stock": 1, "limits": 0, "rules": 0}
    (refused,) = logged.of("stock_refused")
    assert (refused["operation"], refused["product_id"], refused["available"]) == ("reorder", short["id"], 3)


def test_an_order_none_of_whose_lines_can_be_added_changes_nothing(user: User, make_product, sql) -> None:
    product = make_product(stock=20)
    order = ordered(user, [(product["id"], 2, None)])
    sql.execute("update product set stock = 1 where id = %s", (product["id"],))
    shopper = Shopper(bearer=user.access_token)
    before = shopper.add(MUG, 1).json
    reply = reorder(shopper, order)
    problem = assert_problem(reply, 409, "bulk_rejected")
    assert [(e["index"], e["code"], e["maxAvailable"]) for e in problem["errors"]] == [(0, "insufficient_stock", 1)]
    assert "None of the order" in problem["detail"]
    assert shopper.get().json == before


def test_another_shoppers_order_is_not_found_and_nothing_changes(user: User, make_user, make_product) -> None:
    product = make_product(stock=20)
    order = ordered(user, [(product["id"], 1, None)])
    other = Shopper(bearer=make_user().access_token)
    before = other.add(MUG, 1).json
    problem = assert_problem(reorder(other, order), 404, "order_not_found")
    assert problem["orderId"] == order
    assert product["id"] not in str(problem)
    assert other.get().json == before


def test_an_unknown_order_and_a_checkout_not_completed_are_not_found(user: User, make_product) -> None:
    shopper = Shopper(bearer=user.access_token)
    assert_problem(reorder(shopper, "no-such-order"), 404, "order_not_found")
    product = make_product(stock=20)
    shopper.add(product["id"], 1)
    assert shopper.call("POST", "/cart/checkout").status == 200  # open, never completed
    assert_problem(reorder(shopper, "no-such-order"), 404, "order_not_found")


def test_a_guest_is_asked_to_sign_in(shopper: Shopper) -> None:
    problem = assert_problem(reorder(shopper, "any-order"), 401, "authentication_required")
    assert problem["loginUrl"]


def test_a_retried_reorder_with_its_idempotency_key_adds_the_lines_once(user: User, make_product) -> None:
    product = make_product(stock=20)
    order = ordered(user, [(product["id"], 2, None)])
    shopper = Shopper(bearer=user.access_token)
    first = reorder(shopper, order, headers={"Idempotency-Key": "again-1"})
    again = reorder(shopper, order, headers={"Idempotency-Key": "again-1"})
    assert first.status == again.status == 200 and again.json == first.json
    assert quantities(shopper.get().json) == {(product["id"], None): 2}
    # without a key, buying again is another change: the lines are added again
    assert quantities(reorder(shopper, order).json["cart"]) == {(product["id"], None): 4}


def test_a_stale_if_match_is_a_version_conflict_before_the_order_is_looked_up(user: User) -> None:
    shopper = Shopper(bearer=user.access_token)
    cart = shopper.add(MUG, 1).json
    problem = assert_problem(reorder(shopper, "no-such-order", headers={"If-Match": '"999"'}), 409, "version_conflict")
    assert problem["currentVersion"] == cart["version"]


def test_bad_order_ids_are_422(user: User) -> None:
    shopper = Shopper(bearer=user.access_token)
    for bad in ("", "x" * 129, "has space", "nul\x00"):
        assert_problem(reorder(shopper, bad), 422, "validation_failed")
    assert_problem(shopper.call("POST", "/cart/reorder", body={}), 422, "validation_failed")
