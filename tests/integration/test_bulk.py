"""Bulk changes (POST /cart/items/bulk, issue 23 item 3): many adds, sets and removes applied all or
none, in one round trip and one new version, each by the rules of its single route; through the
Lambda handlers on real PostgreSQL. "Buy again" (POST /cart/reorder) is in test_reorder.py."""

from __future__ import annotations

import itertools
import json
import uuid
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from cart_common import store
from cart_common.config import Limits, get_settings
from cart_common.db import Database
from cart_common.errors import BulkRejected
from cart_common.models import MAX_BULK_CHANGES
from tests.conftest import (
    HOODIE,
    HOODIE_XXL,
    MUG,
    POSTER,
    RETIRED_CAP,
    TSHIRT,
    TSHIRT_M_RED,
    TSHIRT_S_RED,
    Lines,
    Shopper,
    User,
    one,
)
from tests.integration.test_analytics import refusals as analytics_refusals
from tests.integration.test_analytics import removals
from tests.integration.test_cart_api import assert_problem, carts_for
from tests.integration.test_concurrency import Together, add, cart_rows, lines, new_guest, quantity_of
from tests.integration.test_database import round_trips

UNKNOWN = "00000000-0000-4000-8000-0000000000fe"  # no product, variant or line has this id
HOODIE_M = "00000000-0000-4000-8001-000000000008"  # demo catalog: in stock


def bulk(shopper: Shopper, changes: list[dict[str, Any]], **kwargs: Any):
    return shopper.call("POST", "/cart/items/bulk", body={"changes": changes}, **kwargs)


def add_(product_id: str, quantity: int | None = None, variant_id: str | None = None, **extra: Any) -> dict:
    change: dict[str, Any] = {"op": "add", "productId": product_id, **extra}
    if quantity is not None:
        change["quantity"] = quantity
    if variant_id:
        change["variantId"] = variant_id
    return change


def set_(quantity: int, *, item: str | None = None, product: str | None = None, variant: str | None = None) -> dict:
    named = {"itemId": item} if item else {"productId": product} | ({"variantId": variant} if variant else {})
    return {"op": "set", "quantity": quantity, **named}


def remove_(*, item: str | None = None, product: str | None = None, variant: str | None = None) -> dict:
    named = {"itemId": item} if item else {"productId": product} | ({"variantId": variant} if variant else {})
    return {"op": "remove", **named}


def quantities(cart: dict) -> dict[tuple[str, str | None], int]:
    return {(i["productId"], i["variantId"]): i["quantity"] for i in cart["items"]}


def line_id(cart: dict, product_id: str, variant_id: str | None = None) -> str:
    return next(i["id"] for i in cart["items"] if (i["productId"], i["variantId"]) == (product_id, variant_id))


def stored(sql, cart_id: str) -> tuple:
    """Everything a change could touch: the cart row and its lines."""
    cart = one(sql.execute("select version, currency, updated_at from cart where id = %s", (cart_id,)))
    rows = sql.execute(
        "select id, product_id, variant_id, quantity, price_at_add, selected_attributes, updated_at"
        " from cart_item where cart_id = %s order by id",
        (cart_id,),
    ).fetchall()
    return cart, rows


def refusals(reply) -> list[tuple[int, str]]:
    problem = assert_problem(reply, 409, "bulk_rejected")
    assert problem["count"] == len(problem["errors"])
    return [(error["index"], error["code"]) for error in problem["errors"]]


# --- all of it, at once ---------------------------------------------------------------------------


def test_a_bulk_change_makes_every_kind_of_change_in_one_round_trip_and_one_version(shopper: Shopper) -> None:
    # Given a cart of mugs, a poster and two T-shirt variants
    shopper.add(MUG, 2)
    shopper.add(POSTER, 1)
    shopper.add(TSHIRT, 1, variant_id=TSHIRT_S_RED)
    before = shopper.add(TSHIRT, 1, variant_id=TSHIRT_M_RED).json
    changes = [
        add_(MUG, 3),  # more of a line the cart has
        add_(HOODIE, 1, variant_id=HOODIE_M),  # a new line
        set_(4, item=line_id(before, TSHIRT, TSHIRT_S_RED)),  # by line id
        set_(2, product=TSHIRT, variant=TSHIRT_M_RED),  # by product and variant
        remove_(product=POSTER),  # by product
    ]
    # When they are sent at once
    trips: list[Any] = []
    assert round_trips(lambda: trips.append(bulk(shopper, changes))) == 1
    (reply,) = trips
    # Then every one is made, under one new version, and the answer is the cart as it now is
    assert reply.status == 200, reply
    assert reply.headers["ETag"] == f'"{before["version"] + 1}"'
    assert quantities(reply.json) == {
        (MUG, None): 5, (TSHIRT, TSHIRT_S_RED): 4, (TSHIRT, TSHIRT_M_RED): 2, (HOODIE, HOODIE_M): 1,
    }  # fmt: skip
    assert reply.json["version"] == before["version"] + 1
    assert shopper.get().json == reply.json


def test_set_to_zero_and_remove_by_line_id_drop_lines(shopper: Shopper) -> None:
    cart = shopper.add(MUG, 2).json
    cart = shopper.add(POSTER, 1).json
    reply = bulk(shopper, [set_(0, item=line_id(cart, MUG)), remove_(item=line_id(cart, POSTER))])
    assert reply.status == 200, reply
    assert reply.json["items"] == [] and reply.json["version"] == cart["version"] + 1


def test_a_new_guests_first_bulk_change_creates_the_cart_in_its_products_currency(
    shopper: Shopper, make_product
) -> None:
    euro = make_product(currency="EUR", stock=5)
    reply = bulk(shopper, [add_(euro["id"], 2)])
    assert reply.status == 200, reply
    assert (reply.json["version"], reply.json["currency"]) == (1, "EUR")
    assert shopper.session_token  # the new guest got its session


# --- nothing applied: every refusal listed ---------------------------------------------------------


def test_valid_and_invalid_changes_together_apply_nothing_and_report_every_invalid_one(
    shopper: Shopper, other_shopper: Shopper, make_product, sql
) -> None:
    # Given a cart, a product short of stock, one with a low per-line maximum, and another
    # shopper's line
    short, capped = make_product(stock=3), make_product(stock=50, max_per_order=2)
    cart = shopper.add(MUG, 2).json
    cart = shopper.add(POSTER, 1).json
    theirs = line_id(other_shopper.add(MUG, 1).json, MUG)
    before = stored(sql, cart["id"])
    changes = [
        add_(MUG, 1),  # fine
        add_(UNKNOWN),  # 1: no such product
        add_(TSHIRT),  # 2: the T-shirt has variants
        add_(short["id"], 4),  # 3: 3 in stock
        add_(capped["id"], 3),  # 4: at most 2 per line
        set_(5, item=theirs),  # 5: another shopper's line is not the caller's
        remove_(item=str(uuid.uuid4())),  # 6: no such line
        add_(RETIRED_CAP),  # 7: no longer sold
        add_(HOODIE, 1, variant_id=HOODIE_XXL),  # 8: an inactive variant
        set_(1, item=line_id(cart, POSTER)),  # fine
    ]
    # When they are sent at once
    reply = bulk(shopper, changes)
    # Then the whole request is refused, each invalid change named by its index with its single
    # route's problem, and the valid ones are not made either
    assert refusals(reply) == [
        (1, "product_not_found"), (2, "variant_required"), (3, "insufficient_stock"), (4, "limit_exceeded"),
        (5, "item_not_found"), (6, "item_not_found"), (7, "product_not_found"), (8, "product_not_found"),
    ]  # fmt: skip
    errors = {error["index"]: error for error in reply.json["errors"]}
    assert (errors[3]["status"], errors[3]["maxAvailable"], errors[3]["inCart"]) == (409, 3, 0)
    assert errors[3]["detail"] == "Only 3 available" and errors[3]["type"] == "/problems/insufficient_stock"
    assert (errors[4]["limit"], errors[4]["allowed"], errors[4]["status"]) == ("maxQuantityPerLine", 2, 422)
    assert (errors[5]["itemId"], errors[5]["status"]) == (theirs, 404)
    assert "productId" not in errors[5]  # nothing of the other shopper's line comes back
    assert stored(sql, cart["id"]) == before
    assert "ETag" not in reply.headers


def test_a_stock_refusal_inside_a_bulk_change_says_what_is_available_and_is_logged(
    shopper: Shopper, make_product, logged: Lines
) -> None:
    product = make_product(stock=5)
    cart = shopper.add(product["id"], 2).json
    logged.clear()
    reply = bulk(shopper, [add_(MUG, 1), add_(product["id"], 4)])
    assert refusals(reply) == [(1, "insufficient_stock")]
    (error,) = reply.json["errors"]
    assert (error["maxAvailable"], error["inCart"], error["quantity"], error["productId"]) == (5, 2, 4, product["id"])
    (line,) = logged.of("stock_refused")
    assert (line["operation"], line["product_id"], line["requested"], line["in_cart"], line["available"]) == (
        "bulk_change", product["id"], 4, 2, 5,
    )  # fmt: skip
    assert logged.operation()["outcome"] == "bulk_rejected"
    assert shopper.get().json["version"] == cart["version"]


def test_a_set_is_refused_for_stock_as_the_single_route_refuses_it(shopper: Shopper, make_product, sql) -> None:
    product = make_product(stock=5)
    cart = shopper.add(product["id"], 4).json
    sql.execute("update product set stock = 2 where id = %s", (product["id"],))
    # lowering to 3 with 2 left: the single PATCH refuses it, and so does the bulk
    assert_problem(shopper.update(line_id(cart, product["id"]), quantity=3), 409, "insufficient_stock")
    reply = bulk(shopper, [set_(3, product=product["id"])])
    assert refusals(reply) == [(0, "insufficient_stock")]
    assert reply.json["errors"][0]["maxAvailable"] == 2
    assert bulk(shopper, [set_(2, product=product["id"])]).status == 200


def test_a_set_of_a_product_no_longer_sold_is_unavailable_but_its_removal_is_not_refused(
    shopper: Shopper, make_product, sql
) -> None:
    product = make_product()
    cart = shopper.add(product["id"], 2).json
    sql.execute("update product set active = false where id = %s", (product["id"],))
    reply = bulk(shopper, [set_(3, item=line_id(cart, product["id"]))])
    assert refusals(reply) == [(0, "product_unavailable")]
    assert reply.json["errors"][0]["itemId"] == line_id(cart, product["id"])
    assert bulk(shopper, [remove_(product=product["id"])]).json["items"] == []


def test_a_bulk_change_of_a_new_guest_that_is_refused_leaves_no_cart(shopper: Shopper, sql) -> None:
    reply = bulk(shopper, [add_(MUG, 1), add_(UNKNOWN)])
    assert refusals(reply) == [(1, "product_not_found")]
    assert carts_for(sql, shopper.session_token) == []


def test_refused_changes_and_removed_lines_count_for_the_merchants_analytics(
    shopper: Shopper, make_product, sql
) -> None:
    scarce, bounded, kept = make_product(stock=1), make_product(stock=50, max_per_order=2), make_product()
    shopper.add(kept["id"], 3)
    before = analytics_refusals(sql)
    # refused as a whole: each refused change counts under its reason, as a single add's refusal would
    reply = bulk(shopper, [add_(scarce["id"], 5), add_(bounded["id"], 3), add_(UNKNOWN), remove_(product=kept["id"])])
    assert refusals(reply) == [(0, "insufficient_stock"), (1, "limit_exceeded"), (2, "product_not_found")]
    after = analytics_refusals(sql)
    assert {k: after[k] - before[k] for k in after} == {"stock": 1, "limits": 1, "rules": 0}
    assert removals(sql, kept["id"]) == []  # the refused request removed nothing
    # a line a bulk change removes is a removed line, as a single removal's
    assert bulk(shopper, [remove_(product=kept["id"])]).status == 200
    assert removals(sql, kept["id"]) == [3]
    assert analytics_refusals(sql) == after


# --- one change per line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "second",
    [
        pytest.param(lambda cart: add_(MUG, 1), id="the same product added twice"),
        pytest.param(lambda cart: set_(3, item=line_id(cart, MUG)), id="an add and a set by line id"),
        pytest.param(lambda cart: remove_(product=MUG), id="an add and a removal by product"),
    ],
)
def test_two_changes_of_one_line_in_one_request_are_refused_as_duplicate_line(
    shopper: Shopper, second: Any, sql
) -> None:
    cart = shopper.add(MUG, 1).json
    before = stored(sql, cart["id"])
    reply = bulk(shopper, [add_(POSTER, 1), add_(MUG, 2), second(cart)])
    assert refusals(reply) == [(2, "duplicate_line")]
    (error,) = reply.json["errors"]
    assert (error["firstIndex"], error["status"]) == (1, 422)
    assert stored(sql, cart["id"]) == before


def test_variants_of_one_product_are_different_lines(shopper: Shopper) -> None:
    reply = bulk(shopper, [add_(TSHIRT, 1, variant_id=TSHIRT_S_RED), add_(TSHIRT, 2, variant_id=TSHIRT_M_RED)])
    assert reply.status == 200, reply
    assert quantities(reply.json) == {(TSHIRT, TSHIRT_S_RED): 1, (TSHIRT, TSHIRT_M_RED): 2}


# --- the limits lines share: decreases first, then the increases in order ------------------------


def test_lines_per_cart_count_removals_first_and_then_adds_in_request_order(
    shopper: Shopper, make_product, fresh_settings, monkeypatch
) -> None:
    monkeypatch.setenv("MAX_LINES_PER_CART", "3")
    a, b, c, d, e = (make_product() for _ in range(5))
    shopper.add(a["id"])
    cart = shopper.add(b["id"]).json
    # Two lines, one removed: two new lines fit (3 in all), the third new one does not
    reply = bulk(shopper, [add_(c["id"]), add_(d["id"]), add_(e["id"]), remove_(product=a["id"])])
    assert refusals(reply) == [(2, "limit_exceeded")]
    assert (reply.json["errors"][0]["limit"], reply.json["errors"][0]["allowed"]) == ("maxLinesPerCart", 3)
    # Without the third, the same request fits: a full cart can be swapped in one request
    reply = bulk(shopper, [add_(c["id"]), add_(d["id"]), remove_(product=a["id"])])
    assert reply.status == 200, reply
    assert {i["productId"] for i in reply.json["items"]} == {b["id"], c["id"], d["id"]}
    assert reply.json["version"] == cart["version"] + 1


def test_a_refused_change_takes_nothing_from_the_limits_of_the_changes_after_it(
    shopper: Shopper, make_product, fresh_settings, monkeypatch
) -> None:
    monkeypatch.setenv("MAX_CART_VALUE", "10000")
    big, small, short = make_product(price=9000), make_product(price=500), make_product(price=500, stock=1)
    # the big add is refused for stock: the small one after it is judged without it
    reply = bulk(shopper, [add_(short["id"], 2), add_(big["id"], 1), add_(small["id"], 3)])
    assert refusals(reply) == [(0, "insufficient_stock"), (2, "limit_exceeded")]
    assert (reply.json["errors"][1]["limit"], reply.json["errors"][1]["cartValue"]) == ("maxCartValue", 9000)
    # refused for its value, the big add leaves room for the small ones after it
    reply = bulk(shopper, [add_(small["id"], 2), add_(big["id"], 2), add_(short["id"], 1)])
    assert refusals(reply) == [(1, "limit_exceeded")]
    assert reply.json["errors"][0]["cartValue"] == 1000


def test_max_per_customer_counts_a_products_variants_together(shopper: Shopper, make_product, sql) -> None:
    product = make_product(variants=[{"stock": 10}, {"stock": 10}])
    sql.execute("update product set max_per_customer = 3 where id = %s", (product["id"],))
    first, second = (v["id"] for v in product["variants"])
    reply = bulk(shopper, [add_(product["id"], 2, variant_id=first), add_(product["id"], 2, variant_id=second)])
    assert refusals(reply) == [(1, "restricted")]
    error = reply.json["errors"][0]
    assert (error["reason"], error["allowed"], error["inCart"]) == ("max_per_customer", 3, 2)
    assert (
        bulk(shopper, [add_(product["id"], 2, variant_id=first), add_(product["id"], 1, variant_id=second)]).status
        == 200
    )


def test_one_product_of_an_exclusive_group_may_be_swapped_for_another_in_one_request(
    shopper: Shopper, make_product, sql
) -> None:
    plans = [make_product() for _ in range(3)]
    sql.execute("update product set exclusive_group = 'plan' where id = any(%s::uuid[])", ([p["id"] for p in plans],))
    shopper.add(plans[0]["id"])
    # two more of the group at once: the first is judged against the one in the cart
    reply = bulk(shopper, [add_(plans[1]["id"]), add_(plans[2]["id"])])
    assert refusals(reply) == [(0, "incompatible"), (1, "incompatible")]
    assert {e["conflictsWith"] for e in reply.json["errors"]} == {plans[0]["id"]}
    # removing the one in the cart makes room for one, and only one
    reply = bulk(shopper, [add_(plans[1]["id"]), add_(plans[2]["id"]), remove_(product=plans[0]["id"])])
    assert refusals(reply) == [(1, "incompatible")]
    assert reply.json["errors"][0]["conflictsWith"] == plans[1]["id"]
    reply = bulk(shopper, [remove_(product=plans[0]["id"]), add_(plans[2]["id"])])
    assert reply.status == 200, reply
    assert [i["productId"] for i in reply.json["items"]] == [plans[2]["id"]]


def test_a_cart_emptied_by_the_request_takes_the_currency_of_what_it_adds(shopper: Shopper, make_product) -> None:
    euro = make_product(currency="EUR")
    cart = shopper.add(MUG, 1).json
    reply = bulk(shopper, [add_(euro["id"], 1), remove_(item=line_id(cart, MUG))])
    assert reply.status == 200, reply
    assert reply.json["currency"] == "EUR" and quantities(reply.json) == {(euro["id"], None): 1}
    refused = bulk(shopper, [add_(MUG, 1)])
    assert refusals(refused) == [(0, "currency_mismatch")]
    assert (refused.json["errors"][0]["cartCurrency"], refused.json["errors"][0]["productCurrency"]) == ("EUR", "USD")


def test_purchase_rules_and_attributes_apply_as_to_a_single_add(shopper: Shopper, make_product, sql) -> None:
    members = make_product()
    sql.execute("update product set requires_auth = true where id = %s", (members["id"],))
    reply = bulk(shopper, [
        add_(members["id"]),  # guests may not buy it
        add_(TSHIRT, 1, variant_id=TSHIRT_M_RED, attributes={"size": "S"}),  # the variant is M
        add_(MUG, 1, attributes={"gift": "wrap it"}),  # the shopper's own attribute is fine
    ])  # fmt: skip
    assert refusals(reply) == [(0, "restricted"), (1, "attribute_conflict")]
    assert reply.json["errors"][0]["reason"] == "requires_auth"
    assert (reply.json["errors"][1]["attribute"], reply.json["errors"][1]["catalogValue"]) == ("size", "M")
    reply = bulk(shopper, [add_(MUG, 1, attributes={"gift": "wrap it"})])
    assert reply.json["items"][0]["attributes"] == {"gift": "wrap it"}


# --- preconditions, idempotency, the bound ----------------------------------------------------------


def test_if_match_guards_the_whole_request(shopper: Shopper) -> None:
    cart = shopper.add(MUG, 1).json
    stale = bulk(shopper, [add_(POSTER, 1)], headers={"If-Match": f'"{cart["version"] - 1}"'})
    problem = assert_problem(stale, 409, "version_conflict")
    assert problem["currentVersion"] == cart["version"]
    current = bulk(shopper, [add_(POSTER, 1)], headers={"If-Match": f'"{cart["version"]}"'})
    assert current.status == 200 and current.json["version"] == cart["version"] + 1


def test_a_retried_bulk_change_with_its_idempotency_key_is_made_once(shopper: Shopper) -> None:
    shopper.add(MUG, 1)
    changes = [add_(MUG, 2), add_(POSTER, 1)]
    first = bulk(shopper, changes, headers={"Idempotency-Key": "bulk-1"})
    again = bulk(shopper, changes, headers={"Idempotency-Key": "bulk-1"})
    assert first.status == again.status == 200
    assert again.json == first.json and again.headers["ETag"] == first.headers["ETag"]
    assert quantities(shopper.get().json) == {(MUG, None): 3, (POSTER, None): 1}
    other = bulk(shopper, [add_(MUG, 5)], headers={"Idempotency-Key": "bulk-1"})
    assert_problem(other, 422, "idempotency_key_reused")


def test_more_changes_than_the_bound_are_refused_before_the_database(shopper: Shopper, logged: Lines) -> None:
    cart = shopper.add(MUG, 1).json
    logged.clear()
    reply = bulk(shopper, [add_(MUG, 1)] * (MAX_BULK_CHANGES + 1))
    problem = assert_problem(reply, 422, "too_many_changes")
    assert (problem["allowed"], problem["received"]) == (MAX_BULK_CHANGES, MAX_BULK_CHANGES + 1)
    assert logged.operation()["round_trips"] == 0
    assert shopper.get().json["version"] == cart["version"]
    # the bound itself is fine (and one line changed twice is refused as such, not for the count)
    distinct = bulk(shopper, [add_(MUG, 1)] * MAX_BULK_CHANGES)
    assert refusals(distinct)[:2] == [(1, "duplicate_line"), (2, "duplicate_line")]


def test_a_hundred_changes_are_made_in_one_round_trip(shopper: Shopper, make_product, sql) -> None:
    products = [make_product(price=100) for _ in range(MAX_BULK_CHANGES)]
    shopper.add(products[0]["id"])
    trips: list[Any] = []
    assert round_trips(lambda: trips.append(bulk(shopper, [add_(p["id"], 2) for p in products]))) == 1
    assert trips[0].status == 200, trips[0]
    assert sorted(quantities(trips[0].json).values()) == [2] * 99 + [3]


# --- bad bodies: a problem, never a 500 ----------------------------------------------------------

_uuid = st.uuids().map(str)
_junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
                  st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))  # fmt: skip
_quantity = st.one_of(st.integers(min_value=-(2**40), max_value=2**40), st.just(2**70), _junk)
_named = st.fixed_dictionaries(
    {}, optional={name: st.one_of(_uuid, _junk) for name in ("itemId", "productId", "variantId")}
)
_change = st.one_of(
    # each op with its fields, any of them missing, mistyped or out of range, or a field of another op
    st.builds(lambda n, q, extra: {"op": "add", **n, "quantity": q, **extra}, _named, _quantity,
              st.fixed_dictionaries({}, optional={"attributes": st.one_of(_junk, st.dictionaries(
                  st.text(max_size=70), _junk, max_size=3)), "surprise": _junk})),
    st.builds(lambda op, n, q: {"op": op, **n, **({} if q is None else {"quantity": q})},
              st.sampled_from(["set", "remove"]), _named, st.one_of(st.none(), _quantity)),
    st.builds(lambda op, n: {"op": op, **n}, st.one_of(_junk, st.sampled_from(["ADD", "patch", ""])), _named),
    _junk,
)  # fmt: skip
_body = st.one_of(
    st.fixed_dictionaries({"changes": st.lists(_change, max_size=4)}),
    st.fixed_dictionaries({"changes": st.one_of(_junk, st.just([]))}),
    st.fixed_dictionaries({"changes": st.lists(_change, min_size=1, max_size=2)}, optional={"extra": _junk}),
    _junk,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_body)
def test_every_class_of_bad_body_is_a_4xx_problem_never_a_500(shopper: Shopper, body: Any) -> None:
    note(json.dumps(body))
    reply = shopper.call("POST", "/cart/items/bulk", raw_body=json.dumps(body))
    if reply.status == 200:  # a body that happens to be valid (a real line, an unknown product is a problem)
        return
    assert 400 <= reply.status < 500, reply
    assert reply.content_type == "application/problem+json", reply
    assert reply.json["code"] and reply.json["status"] == reply.status and reply.json["detail"]


# --- concurrency: bulk and single changes of one cart --------------------------------------------


def bulk_store(database: Database, owner: Any, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What POST /cart/items/bulk runs (carts.bulk_change), on this environment's connection."""
    settings_ = get_settings()
    requested = [{"op": "add", "item_id": None, "variant_id": None, "attributes": {}} | c for c in changes]
    return database.run(
        partial(
            store.bulk_change,
            change=store.Change(owner, settings_.guest_cart_ttl_days),
            requested=requested,
            limits=Limits(settings_.max_quantity_per_line),
            default_currency=settings_.default_currency,
        )
    ).lines


@pytest.mark.timeout(120)
def test_bulk_and_single_changes_of_one_cart_at_once_lose_no_update(make_product, sql) -> None:
    # Given products A and B with ample stock, and C with 30 in stock (some changes are refused)
    a, b, c = make_product(stock=1000), make_product(stock=1000), make_product(stock=30)
    owner = new_guest()
    # When, all at once, 4 environments add A one at a time 5 times, and 6 send 5 bulk changes each:
    # +2 of A, +1 of B and +3 of C (all or nothing: C runs out after ten of them)
    bulk_change = [{"product_id": a["id"], "quantity": 2}, {"product_id": b["id"], "quantity": 1},
                   {"product_id": c["id"], "quantity": 3}]  # fmt: skip

    def work(index: int, db: Database) -> list[tuple[str, list[dict[str, Any]]]]:
        done: list[tuple[str, list[dict[str, Any]]]] = []
        for _ in range(5):
            if index < 4:
                done.append(("single", add(db, owner, a["id"])))
                continue
            try:
                done.append(("bulk", bulk_store(db, owner, bulk_change)))
            except BulkRejected as refused:
                done.append(("refused", [refused.extensions]))
        return done

    together = Together(10)
    results = [outcome for per_thread in together.run(work) for outcome in per_thread]
    # Then nothing failed but the refusals for C's stock, and every acknowledged change counts once
    assert together.errors == []
    singles = [rows for kind, rows in results if kind == "single"]
    bulks = [rows for kind, rows in results if kind == "bulk"]
    refused = [rows[0] for kind, rows in results if kind == "refused"]
    assert len(bulks) == 10 and len(refused) == 20 and len(singles) == 20
    assert all(r["errors"][0]["code"] == "insufficient_stock" and r["errors"][0]["index"] == 2 for r in refused)
    (cart,) = cart_rows(sql, owner)
    assert lines(sql, cart["id"]) == {a["id"]: 20 + 2 * 10, b["id"]: 10, c["id"]: 30}
    # And the acknowledged changes were serialised: versions 1..30, once each, and each answer
    # shows the cart right after its own change
    acknowledged = sorted(rows[0]["version"] for rows in singles + bulks)
    assert acknowledged == list(range(1, 31)) and cart["version"] == 30
    seen = sorted(
        (rows[0]["version"], quantity_of(rows, a["id"]), quantity_of(rows, b["id"])) for rows in singles + bulks
    )
    assert [v for v, _, _ in seen] == list(range(1, 31))
    assert all(x[1] <= y[1] and x[2] <= y[2] for x, y in itertools.pairwise(seen))
    assert seen[-1][1:] == (40, 10)


# --- the property: a bulk change is its changes made one by one, or nothing -----------------------


@pytest.fixture(scope="module")
def stocked(database_url: str) -> list[str]:
    """Three products of this module's own: little stock, so some changes are refused."""
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(database_url, autocommit=True) as conn:
        return [
            str(one(conn.execute(
                "insert into product (name, slug, price, currency, stock) values (%s, %s, 100, 'USD', %s) returning id",
                (f"Bulk {tag} {i}", f"bulk-{tag}-{i}", stock),
            ))[0])
            for i, stock in enumerate((4, 8, 1000))
        ]  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.lists(st.integers(min_value=0, max_value=4), min_size=3, max_size=3),
    picks=st.lists(
        st.tuples(st.sampled_from(["add", "set", "remove"]), st.integers(0, 2), st.integers(0, 6)),
        min_size=1,
        max_size=4,
    ),
)
def test_a_bulk_change_equals_its_changes_made_one_by_one_or_changes_nothing(
    stocked: list[str], start: list[int], picks: list[tuple[str, int, int]]
) -> None:
    # Given two guests whose carts start alike
    one_by_one, at_once = Shopper(), Shopper()
    for shopper in (one_by_one, at_once):
        for product, quantity in zip(stocked, start, strict=True):
            if quantity:
                assert shopper.add(product, quantity).status == 200
    before = at_once.get().json
    changes = []
    for op, which, quantity in picks:
        product = stocked[which]
        if op == "add":
            changes.append(add_(product, max(quantity, 1)))
        elif op == "set":
            changes.append(set_(quantity, product=product))
        else:
            changes.append(remove_(product=product))
    note(f"changes: {changes}")
    # When one makes them one by one through the single routes, the other at once
    singles_ok = True
    for change in changes:
        cart = one_by_one.get().json
        line = next((i["id"] for i in cart["items"] if i["productId"] == change["productId"]), None)
        if change["op"] == "add":
            reply = one_by_one.add(change["productId"], change["quantity"])
        elif line is None:
            singles_ok = False
            continue
        elif change["op"] == "set":
            reply = one_by_one.update(line, quantity=change["quantity"])
        else:
            reply = one_by_one.remove(line)
        singles_ok &= reply.status == 200
    reply = bulk(at_once, changes)
    # Then the bulk change is all of them, as they were made one by one, or (refused) nothing
    duplicated = len({c["productId"] for c in changes}) < len(changes)
    if reply.status == 200:
        assert not duplicated
        assert singles_ok, "the bulk change made changes one of which alone was refused"
        assert quantities(reply.json) == quantities(one_by_one.get().json)
        assert reply.json["version"] == before["version"] + 1
    else:
        assert reply.status == 409 and reply.json["code"] == "bulk_rejected", reply
        assert at_once.get().json == before
        # every change the bulk refused as a change alone (no duplicate) was refused one by one too
        assert duplicated or not singles_ok


def test_the_bulk_statement_reads_the_users_cart_by_its_index(user: User) -> None:
    """A signed-in shopper's bulk change: the owner key column is the user's (composed per kind)."""
    shopper = Shopper(bearer=user.access_token)
    reply = bulk(shopper, [add_(MUG, 2), add_(TSHIRT, 1, variant_id=TSHIRT_M_RED)])
    assert reply.status == 200 and reply.json["itemCount"] == 3
    assert UUID(reply.json["id"])
