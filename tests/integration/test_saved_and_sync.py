"""Saved for later (POST /cart/items/{itemId}/save, POST /cart/saved/{savedId}/restore) and client
sync (POST /cart/sync), through the Lambda handlers on real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from cart_common.config import get_settings
from tests.conftest import (
    MUG,
    POSTER,
    RETIRED_CAP,
    TSHIRT,
    TSHIRT_L_RED,
    TSHIRT_M_RED,
    TSHIRT_S_RED,
    Reply,
    Shopper,
    User,
    one,
)
from tests.integration.test_cart_api import assert_problem
from tests.integration.test_database import round_trips

UNKNOWN = "00000000-0000-4000-8000-0000000000fe"  # no product has this id


def save(shopper: Shopper, item_id: str, **kwargs: Any) -> Reply:
    return shopper.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": item_id}, **kwargs)


def restore(shopper: Shopper, saved_id: str, **kwargs: Any) -> Reply:
    return shopper.call("POST", "/cart/saved/{savedId}/restore", path_params={"savedId": saved_id}, **kwargs)


def sync(shopper: Shopper, items: list[dict[str, Any]], **kwargs: Any) -> Reply:
    return shopper.call("POST", "/cart/sync", body={"items": items}, **kwargs)


def line(product_id: str, quantity: int, variant_id: str | None = None) -> dict[str, Any]:
    return {"productId": product_id, "quantity": quantity} | ({"variantId": variant_id} if variant_id else {})


def item_of(cart: dict, product_id: str) -> dict:
    return next(i for i in cart["items"] if i["productId"] == product_id)


def quantities(cart: dict) -> dict[tuple[str, str | None], int]:
    return {(i["productId"], i["variantId"]): i["quantity"] for i in cart["items"]}


def conflicts_by_product(reply: Reply) -> dict[str, tuple]:
    return {
        c["productId"]: (c["clientQuantity"], c["serverQuantity"], c["resolved"], c["reason"])
        for c in reply.json["conflicts"]
    }


# --- saving for later ---------------------------------------------------------------------------


def test_saving_a_line_moves_it_to_the_saved_list(shopper: Shopper) -> None:
    # Given a cart with mugs and a poster
    shopper.add(MUG, 2)
    cart = shopper.add(POSTER, 1).json
    # When the mugs are saved for later
    reply = save(shopper, item_of(cart, MUG)["id"])
    # Then they leave the cart, with their price and quantity, for the saved list
    assert reply.status == 200, reply
    after = reply.json
    assert [i["productId"] for i in after["items"]] == [POSTER]
    assert after["version"] == cart["version"] + 1 and after["itemCount"] == 1
    (saved,) = after["savedForLater"]
    assert (saved["productId"], saved["variantId"], saved["quantity"]) == (MUG, None, 2)
    assert saved["name"] == "Coffee mug" and saved["priceAtSave"] == saved["unitPrice"] == 1250
    assert (saved["slug"], saved["imageUrl"]) == ("coffee-mug", "/img/coffee-mug.webp")
    assert (saved["priceDropped"], saved["backInStock"], saved["available"]) == (False, False, True)
    assert shopper.get().json == after


def test_restoring_puts_a_saved_item_back_and_folds_it_into_the_line_of_its_variant(shopper: Shopper) -> None:
    first = shopper.add(TSHIRT, 2, variant_id=TSHIRT_M_RED, attributes={"gift": True}).json
    saved = save(shopper, first["items"][0]["id"]).json["savedForLater"][0]
    shopper.add(TSHIRT, 1, variant_id=TSHIRT_M_RED)  # the shopper adds one again meanwhile
    reply = restore(shopper, saved["id"])
    assert reply.status == 200, reply
    (item,) = reply.json["items"]
    assert (item["variantId"], item["quantity"]) == (TSHIRT_M_RED, 3)
    assert item["attributes"]["gift"] is True  # the saved line's attributes came back with it
    assert reply.json["savedForLater"] == []


def test_a_round_trip_through_the_saved_list_restores_the_line(shopper: Shopper) -> None:
    cart = shopper.add(MUG, 3).json
    saved = save(shopper, cart["items"][0]["id"]).json
    assert saved["items"] == [] and saved["itemCount"] == 0
    back = restore(shopper, saved["savedForLater"][0]["id"]).json
    assert quantities(back) == {(MUG, None): 3} and back["savedForLater"] == []


def test_saving_the_same_product_again_folds_into_its_saved_item(shopper: Shopper) -> None:
    save(shopper, shopper.add(MUG, 2).json["items"][0]["id"])
    after = save(shopper, shopper.add(MUG, 1).json["items"][0]["id"]).json
    assert [(s["productId"], s["quantity"]) for s in after["savedForLater"]] == [(MUG, 3)]


def test_a_saved_item_flags_a_price_drop_and_not_a_rise(shopper: Shopper, make_product, sql) -> None:
    cheaper, dearer = make_product(price=1000), make_product(price=1000)
    for product in (cheaper, dearer):
        save(shopper, item_of(shopper.add(product["id"]).json, product["id"])["id"])
    sql.execute("update product set price = 800 where id = %s", (cheaper["id"],))
    sql.execute("update product set price = 1200 where id = %s", (dearer["id"],))
    saved = {s["productId"]: s for s in shopper.get().json["savedForLater"]}
    assert (saved[cheaper["id"]]["priceAtSave"], saved[cheaper["id"]]["unitPrice"]) == (1000, 800)
    assert saved[cheaper["id"]]["priceDropped"] is True
    assert saved[dearer["id"]]["priceDropped"] is False


def test_a_saved_item_flags_stock_that_came_back(shopper: Shopper, make_product, sql) -> None:
    product = make_product(stock=5)
    item = shopper.add(product["id"], 2).json["items"][0]["id"]
    sql.execute("update product set stock = 0 where id = %s", (product["id"],))
    (saved,) = save(shopper, item).json["savedForLater"]  # saved while out of stock
    assert (saved["backInStock"], saved["available"]) == (False, False)
    sql.execute("update product set stock = 4 where id = %s", (product["id"],))
    (saved,) = shopper.get().json["savedForLater"]
    assert (saved["backInStock"], saved["available"]) == (True, True)


def test_a_line_saved_in_stock_is_not_back_in_stock(shopper: Shopper, make_product, sql) -> None:
    product = make_product(stock=5)
    save(shopper, shopper.add(product["id"], 1).json["items"][0]["id"])
    sql.execute("update product set stock = 9 where id = %s", (product["id"],))
    assert shopper.get().json["savedForLater"][0]["backInStock"] is False


def test_a_restore_refused_by_stock_is_409_and_leaves_the_saved_item(shopper: Shopper, make_product, sql) -> None:
    product = make_product(stock=5)
    saved = save(shopper, shopper.add(product["id"], 3).json["items"][0]["id"]).json
    sql.execute("update product set stock = 2 where id = %s", (product["id"],))
    problem = assert_problem(restore(shopper, saved["savedForLater"][0]["id"]), 409, "insufficient_stock")
    assert problem["maxAvailable"] == 2
    after = shopper.get().json
    assert after["savedForLater"] == saved["savedForLater"] and after["items"] == []
    assert after["version"] == saved["version"]  # nothing was written


def test_a_restore_keeps_the_per_line_maximum_as_an_add_does(shopper: Shopper, make_product) -> None:
    product = make_product(stock=50, max_per_order=3)
    saved = save(shopper, shopper.add(product["id"], 2).json["items"][0]["id"]).json["savedForLater"][0]
    shopper.add(product["id"], 2)
    problem = assert_problem(restore(shopper, saved["id"]), 422, "limit_exceeded")
    assert (problem["limit"], problem["allowed"]) == ("maxQuantityPerLine", 3)
    assert [s["id"] for s in shopper.get().json["savedForLater"]] == [saved["id"]]


def test_a_restore_keeps_max_per_customer_as_an_add_does(shopper: Shopper, make_product, sql) -> None:
    product = make_product(stock=50, variants=[{"stock": 10}, {"stock": 10}])
    sql.execute("update product set max_per_customer = 4 where id = %s", (product["id"],))
    first, second = (v["id"] for v in product["variants"])
    saved = save(shopper, shopper.add(product["id"], 2, variant_id=first).json["items"][0]["id"]).json
    shopper.add(product["id"], 3, variant_id=second)
    problem = assert_problem(restore(shopper, saved["savedForLater"][0]["id"]), 422, "restricted")
    assert (problem["reason"], problem["allowed"]) == ("max_per_customer", 4)


def test_restoring_a_product_no_longer_sold_is_404_as_an_add_is(shopper: Shopper, make_product, sql) -> None:
    product = make_product()
    saved = save(shopper, shopper.add(product["id"]).json["items"][0]["id"]).json["savedForLater"][0]
    sql.execute("update product set active = false where id = %s", (product["id"],))
    assert shopper.get().json["savedForLater"][0]["available"] is False
    assert_problem(restore(shopper, saved["id"]), 404, "product_not_found")
    assert len(shopper.get().json["savedForLater"]) == 1


def test_another_owners_line_and_saved_item_are_404_and_untouched(shopper: Shopper, other_shopper: Shopper) -> None:
    shopper.add(POSTER, 1)
    cart = shopper.add(MUG, 1).json
    mine = save(shopper, item_of(cart, POSTER)["id"]).json
    other_shopper.add(MUG, 1)
    problem = assert_problem(save(other_shopper, item_of(cart, MUG)["id"]), 404, "item_not_found")
    assert problem["itemId"] == item_of(cart, MUG)["id"]
    saved_id = mine["savedForLater"][0]["id"]
    problem = assert_problem(restore(other_shopper, saved_id), 404, "saved_item_not_found")
    assert problem["savedId"] == saved_id
    assert shopper.get().json == mine


def test_unknown_ids_are_404_and_a_malformed_one_is_422(shopper: Shopper) -> None:
    shopper.add(MUG)
    assert_problem(save(shopper, str(uuid.uuid4())), 404, "item_not_found")
    assert_problem(restore(shopper, str(uuid.uuid4())), 404, "saved_item_not_found")
    assert_problem(restore(shopper, "not-a-uuid"), 422, "validation_failed")
    assert_problem(restore(Shopper(), str(uuid.uuid4())), 404, "saved_item_not_found")  # no cart at all


def test_save_and_restore_honour_if_match(shopper: Shopper) -> None:
    cart = shopper.add(MUG, 2).json
    stale = {"If-Match": f'"{cart["version"] - 1}"'}
    problem = assert_problem(save(shopper, cart["items"][0]["id"], headers=stale), 409, "version_conflict")
    assert problem["currentVersion"] == cart["version"]
    saved = save(shopper, cart["items"][0]["id"], headers={"If-Match": f'"{cart["version"]}"'})
    assert saved.status == 200 and saved.headers["ETag"] == f'"{cart["version"] + 1}"'
    saved_id = saved.json["savedForLater"][0]["id"]
    assert_problem(restore(shopper, saved_id, headers=stale), 409, "version_conflict")
    assert restore(shopper, saved_id, headers={"If-Match": saved.headers["ETag"]}).status == 200


def test_save_and_restore_are_one_round_trip_each(shopper: Shopper) -> None:
    item = shopper.add(MUG, 2).json["items"][0]["id"]
    assert round_trips(lambda: save(shopper, item)) == 1
    saved_id = shopper.get().json["savedForLater"][0]["id"]
    assert round_trips(lambda: restore(shopper, saved_id)) == 1


def test_saving_releases_an_open_checkout(user: User, sql) -> None:
    shopper = Shopper(bearer=user.access_token)
    item = shopper.add(MUG, 1).json["items"][0]["id"]
    checkout_id = shopper.call("POST", "/cart/checkout").json["checkoutId"]
    assert save(shopper, item).status == 200
    assert one(sql.execute("select status from checkout where id = %s", (checkout_id,)))["status"] == "released"


def test_an_adopted_guest_cart_keeps_its_saved_items(user: User) -> None:
    guest = Shopper()
    guest.add(POSTER, 1)
    save(guest, item_of(guest.add(MUG, 2).json, MUG)["id"])
    signed_in = Shopper(bearer=user.access_token)
    signed_in.token = guest.token
    result = signed_in.merge().json
    assert result["merge"]["outcome"] == "adopted"
    assert [(s["productId"], s["quantity"]) for s in result["cart"]["savedForLater"]] == [(MUG, 2)]


# --- client sync --------------------------------------------------------------------------------


@pytest.fixture
def strategy(request: pytest.FixtureRequest, fresh_settings: None, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SYNC_STRATEGY", request.param)
    return request.param


# One server cart (mug 2, poster 1, T-shirt S 1) and one client copy (mug 5, T-shirt S 1, T-shirt M 3):
# the mug changed, the poster was removed on the client, the T-shirt M added there, the S the same.
SERVER = [(MUG, 2, None), (POSTER, 1, None), (TSHIRT, 1, TSHIRT_S_RED)]
CLIENT = [line(MUG, 5), line(TSHIRT, 1, TSHIRT_S_RED), line(TSHIRT, 3, TSHIRT_M_RED)]
EXPECTED = {  # strategy -> (mug, poster, T-shirt S, T-shirt M) after the sync
    "max": (5, 1, 1, 3),
    "replace": (5, 0, 1, 3),
    "sum": (7, 1, 2, 3),
}


@pytest.mark.parametrize("strategy", list(EXPECTED), indirect=True)
def test_sync_resolves_added_changed_and_removed_lines_by_the_strategy(strategy: str, shopper: Shopper) -> None:
    for product, quantity, variant in SERVER:
        shopper.add(product, quantity, variant_id=variant)
    reply = sync(shopper, CLIENT)
    assert reply.status == 200, reply
    mug, poster, small, medium = EXPECTED[strategy]
    expected = {(MUG, None): mug, (POSTER, None): poster, (TSHIRT, TSHIRT_S_RED): small, (TSHIRT, TSHIRT_M_RED): medium}
    assert quantities(reply.json["cart"]) == {key: q for key, q in expected.items() if q}
    conflicts = {(c["productId"], c["variantId"]): c for c in reply.json["conflicts"]}
    assert {k: (c["clientQuantity"], c["serverQuantity"], c["resolved"]) for k, c in conflicts.items()} == {
        (MUG, None): (5, 2, mug),  # changed
        (POSTER, None): (0, 1, poster),  # removed on the client
        (TSHIRT, TSHIRT_M_RED): (3, 0, medium),  # added on the client
    } | ({(TSHIRT, TSHIRT_S_RED): (1, 1, 2)} if strategy == "sum" else {})  # the same line, counted twice
    assert all(c["reason"] is None for c in conflicts.values())
    assert reply.json["cart"] == shopper.get().json


def test_sync_defaults_to_max_so_a_copy_of_the_same_cart_is_not_counted_twice(shopper: Shopper) -> None:
    assert get_settings().sync_strategy == "max"
    cart = shopper.add(MUG, 2).json
    reply = sync(shopper, [line(MUG, 2)])
    assert reply.json["conflicts"] == [] and quantities(reply.json["cart"]) == {(MUG, None): 2}
    assert reply.json["cart"]["version"] == cart["version"] + 1


def test_a_new_guest_syncing_an_offline_cart_gets_a_cart(shopper: Shopper) -> None:
    reply = sync(shopper, [line(MUG, 2), line(TSHIRT, 1, TSHIRT_M_RED)])
    assert reply.status == 200 and reply.headers["X-Cart-Session"]
    cart = reply.json["cart"]
    assert cart["id"] is not None and cart["version"] == 1
    assert quantities(cart) == {(MUG, None): 2, (TSHIRT, TSHIRT_M_RED): 1}
    assert all(i["priceAtAdd"] == i["unitPrice"] for i in cart["items"])
    assert {(c["productId"], c["serverQuantity"], c["resolved"]) for c in reply.json["conflicts"]} == {
        (MUG, 0, 2),
        (TSHIRT, 0, 1),
    }
    assert shopper.get().json == cart


def test_sync_caps_at_stock_and_the_line_maximum_and_says_why(shopper: Shopper, make_product) -> None:
    short, limited = make_product(stock=5), make_product(stock=50, max_per_order=3)
    reply = sync(shopper, [line(short["id"], 8), line(limited["id"], 5), line(TSHIRT, 2, TSHIRT_L_RED)])
    assert conflicts_by_product(reply) == {
        short["id"]: (8, 0, 5, "insufficient_stock"),
        limited["id"]: (5, 0, 3, "max_quantity_per_line"),
        TSHIRT: (2, 0, 0, "out_of_stock"),
    }
    assert quantities(reply.json["cart"]) == {(short["id"], None): 5, (limited["id"], None): 3}


def test_sync_skips_unknown_and_inactive_products_with_resolved_zero(shopper: Shopper) -> None:
    reply = sync(
        shopper, [line(UNKNOWN, 1), line(RETIRED_CAP, 2), line(TSHIRT, 1), line(MUG, 1, TSHIRT_M_RED), line(MUG, 1)]
    )
    assert reply.status == 200, reply
    assert {(c["productId"], c["variantId"]): (c["resolved"], c["reason"]) for c in reply.json["conflicts"]} == {
        (UNKNOWN, None): (0, "product_not_found"),
        (RETIRED_CAP, None): (0, "unavailable"),
        (TSHIRT, None): (0, "variant_required"),
        (MUG, TSHIRT_M_RED): (0, "product_not_found"),  # a variant of another product
        (MUG, None): (1, None),
    }
    assert quantities(reply.json["cart"]) == {(MUG, None): 1}


def test_sync_shares_max_per_customer_between_variants_in_order(shopper: Shopper, make_product, sql) -> None:
    product = make_product(stock=50, variants=[{"stock": 10}, {"stock": 10}])
    sql.execute("update product set max_per_customer = 4 where id = %s", (product["id"],))
    first, second = (v["id"] for v in product["variants"])
    reply = sync(shopper, [line(product["id"], 3, first), line(product["id"], 3, second)])
    assert [(c["variantId"], c["resolved"], c["reason"]) for c in reply.json["conflicts"]] == [
        (first, 3, None),
        (second, 1, "max_per_customer"),
    ]


def test_sync_keeps_purchase_rules_currency_and_exclusive_groups(shopper: Shopper, make_product, sql) -> None:
    members_only, euro = make_product(), make_product(currency="EUR")
    sql.execute("update product set requires_auth = true where id = %s", (members_only["id"],))
    pan, other_pan = make_product(), make_product()
    group = f"g-{uuid.uuid4()}"
    sql.execute("update product set exclusive_group = %s where id = any(%s)", (group, [pan["id"], other_pan["id"]]))
    shopper.add(MUG, 1)
    products = (members_only, euro, pan, other_pan)
    reply = sync(shopper, [line(MUG, 1), *(line(p["id"], 1) for p in products)])
    assert conflicts_by_product(reply) == {
        members_only["id"]: (1, 0, 0, "requires_auth"),
        euro["id"]: (1, 0, 0, "currency_mismatch"),
        pan["id"]: (1, 0, 1, None),
        other_pan["id"]: (1, 0, 0, "incompatible"),
    }


def test_sync_never_lowers_a_server_line_for_a_cap_it_did_not_ask_for(shopper: Shopper, make_product, sql) -> None:
    product = make_product(stock=10)
    shopper.add(product["id"], 6)
    sql.execute("update product set stock = 2 where id = %s", (product["id"],))
    reply = sync(shopper, [line(product["id"], 4)])  # max: wants 6, the line already has 6
    assert conflicts_by_product(reply) == {product["id"]: (4, 6, 6, None)}


@pytest.mark.parametrize("strategy", ["replace"], indirect=True)
def test_an_emptied_cart_takes_the_currency_of_the_synced_lines(strategy: str, shopper: Shopper, make_product) -> None:
    euro = make_product(currency="EUR")
    shopper.add(MUG, 1)
    reply = sync(shopper, [line(euro["id"], 2)])
    assert reply.json["cart"]["currency"] == "EUR" and quantities(reply.json["cart"]) == {(euro["id"], None): 2}


def test_sync_keeps_the_cart_limits(shopper: Shopper, make_product, fresh_settings, monkeypatch) -> None:
    monkeypatch.setenv("MAX_LINES_PER_CART", "2")
    monkeypatch.setenv("MAX_CART_VALUE", "5000")
    dear, cheap, third = make_product(price=2000), make_product(price=100), make_product(price=100)
    shopper.add(dear["id"], 1)
    reply = sync(shopper, [line(dear["id"], 3), line(cheap["id"], 5), line(third["id"], 1)])
    assert conflicts_by_product(reply) == {
        dear["id"]: (3, 1, 2, "max_cart_value"),  # 2 x 2000 leaves 1000 of the 5000
        cheap["id"]: (5, 0, 5, None),
        third["id"]: (1, 0, 0, "max_lines_per_cart"),
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": [line(MUG, 1), line(MUG, 2)]}, "items"),  # the same product+variant twice
        ({"items": [line(TSHIRT, 1, TSHIRT_M_RED), line(TSHIRT, 1, TSHIRT_M_RED)]}, "items"),
        ({"items": [line(MUG, 1) | {"price": 1}]}, "items.price"),
        ({"items": [], "cartId": "x"}, "cartId"),
        ({"items": [line(MUG, 0)]}, "items.quantity"),
        ({"items": [line(MUG, -1)]}, "items.quantity"),
        ({"items": [line(MUG, 1) | {"quantity": "2"}]}, "items.quantity"),
        ({"items": [line(MUG, 1) | {"quantity": 1.5}]}, "items.quantity"),
        ({"items": [line(MUG, 1) | {"quantity": True}]}, "items.quantity"),
        ({"items": [{"productId": MUG}]}, "items.quantity"),
        ({"items": [line("mug", 1)]}, "items.productId"),
        ({"items": [line(str(uuid.uuid4()), 1) for _ in range(101)]}, "items"),
        ({}, "items"),
    ],
)
def test_bad_sync_bodies_are_422_naming_the_field(shopper: Shopper, body: dict, field: str) -> None:
    problem = assert_problem(shopper.call("POST", "/cart/sync", body=body), 422, "validation_failed")
    assert field in {e["field"] for e in problem["errors"]}, problem


def test_a_hundred_lines_are_accepted(shopper: Shopper) -> None:
    reply = sync(shopper, [line(str(uuid.uuid4()), 1) for _ in range(100)])
    assert reply.status == 200 and len(reply.json["conflicts"]) == 100


def test_sync_honours_if_match_and_is_one_round_trip(shopper: Shopper) -> None:
    cart = shopper.add(MUG, 1).json
    problem = assert_problem(sync(shopper, [line(MUG, 3)], headers={"If-Match": '"0"'}), 409, "version_conflict")
    assert problem["currentVersion"] == cart["version"]
    assert shopper.get().json == cart
    assert round_trips(lambda: sync(shopper, [line(MUG, 3)], headers={"If-Match": f'"{cart["version"]}"'})) == 1
    assert shopper.get().json["items"][0]["quantity"] == 3


# --- sync converges: properties -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sync_catalog(database_url: str) -> dict[str, tuple[str, str | None]]:
    """Lines of this module's own products (so no other test changes them): name -> (product, variant)."""
    with psycopg.connect(database_url, autocommit=True) as conn:

        def product(name: str, **columns: Any) -> str:
            columns = {"price": 700, "currency": "USD", "stock": 6} | columns
            names = ", ".join(columns)
            return one(
                conn.execute(
                    f"insert into product (name, slug, {names}) values (%s, %s, {', '.join(['%s'] * len(columns))})"
                    " returning id::text",
                    (name, f"sync-{name}-{uuid.uuid4().hex[:8]}", *columns.values()),
                )
            )[0]

        def variant(product_id: str, stock: int) -> str:
            return one(
                conn.execute(
                    "insert into product_variant (product_id, sku, stock) values (%s, %s, %s) returning id::text",
                    (product_id, f"sync-{uuid.uuid4().hex[:10]}", stock),
                )
            )[0]

        plain, limited = product("plain"), product("limited", max_per_order=3)
        retired = product("retired", active=False)
        shared = product("shared", max_per_customer=5)
        return {
            "plain": (plain, None),
            "limited": (limited, None),
            "retired": (retired, None),
            "shared-a": (shared, variant(shared, 4)),
            "shared-b": (shared, variant(shared, 9)),
            "sold-out": (shared, variant(shared, 0)),
            "unknown": (UNKNOWN, None),
        }


@contextmanager
def sync_strategy(name: str) -> Iterator[None]:
    saved = os.environ.get("SYNC_STRATEGY")
    os.environ["SYNC_STRATEGY"] = name
    get_settings.cache_clear()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SYNC_STRATEGY")
        else:
            os.environ["SYNC_STRATEGY"] = saved
        get_settings.cache_clear()


NAMES = ("plain", "limited", "retired", "shared-a", "shared-b", "sold-out", "unknown")
carts_ = st.dictionaries(st.sampled_from(NAMES), st.integers(1, 8), max_size=len(NAMES))


def _cart_with(catalog: dict, server: dict[str, int]) -> Shopper:
    shopper = Shopper()
    shopper.get()
    for name, quantity in server.items():
        product, variant = catalog[name]
        shopper.add(product, quantity, variant_id=variant)  # a refused add leaves the line out
    return shopper


def _client_lines(catalog: dict, client: dict[str, int]) -> list[dict[str, Any]]:
    return [line(catalog[name][0], quantity, catalog[name][1]) for name, quantity in client.items()]


def _lines_of(cart: dict) -> list[dict[str, Any]]:
    return [line(i["productId"], i["quantity"], i["variantId"]) for i in cart["items"]]


@settings(max_examples=30, deadline=None)
@given(server=carts_, client=carts_, strategy_name=st.sampled_from(["max", "replace", "sum"]))
def test_property_the_synced_cart_is_the_truth_and_the_conflicts_explain_every_difference(
    sync_catalog, server: dict[str, int], client: dict[str, int], strategy_name: str
) -> None:
    with sync_strategy(strategy_name):
        shopper = _cart_with(sync_catalog, server)
        before = quantities(shopper.get().json)
        client_lines = _client_lines(sync_catalog, client)
        reply = sync(shopper, client_lines)
        note(f"before={before} client={client_lines} reply={reply.json}")
        assert reply.status == 200, reply
        cart = reply.json["cart"]
        assert cart == shopper.get().json
        after = quantities(cart)
        held = {(c["productId"], c.get("variantId")): c["quantity"] for c in client_lines}
        conflicts = {(c["productId"], c["variantId"]): c for c in reply.json["conflicts"]}
        for key in held.keys() | before.keys() | after.keys():
            if key in conflicts:
                c = conflicts[key]
                assert (c["clientQuantity"], c["serverQuantity"]) == (held.get(key, 0), before.get(key, 0))
                assert c["resolved"] == after.get(key, 0)
            else:  # not listed: the client already held what the server now holds
                assert held.get(key, 0) == before.get(key, 0) == after.get(key, 0)


@settings(max_examples=30, deadline=None)
@given(server=carts_, client=carts_, strategy_name=st.sampled_from(["max", "replace"]))
def test_property_syncing_the_synced_cart_again_changes_nothing(
    sync_catalog, server: dict[str, int], client: dict[str, int], strategy_name: str
) -> None:
    with sync_strategy(strategy_name):
        shopper = _cart_with(sync_catalog, server)
        client_lines = _client_lines(sync_catalog, client)
        first = sync(shopper, client_lines).json["cart"]
        again = sync(shopper, _lines_of(first))
        note(f"first={first} again={again.json}")
        assert again.status == 200 and again.json["conflicts"] == []
        assert again.json["cart"] | {"version": first["version"]} == first
        assert again.json["cart"] == shopper.get().json
