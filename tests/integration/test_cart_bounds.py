"""Issue 11's data rules: the catalog's attributes win over a client's, what a line, a saved list
and a merged cart may hold is bounded so no sequence of accepted requests grows a cart past the
README's size, an emptied cart takes no discount code, and the admin listing settles who is
calling before it validates what they asked."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow

from cart_common.config import MAX_LINE_ATTRIBUTE_BYTES, MAX_LINE_ATTRIBUTES
from tests.conftest import TSHIRT, TSHIRT_M_RED, Shopper, User, one, own_products
from tests.integration.test_cart_api import assert_problem
from tests.integration.test_lifecycle import list_as
from tests.integration.test_signin import claims_for, forge, signed_in

# The README's bound for the largest cart any sequence of accepted requests can build.
MAX_CART_RESPONSE_BYTES = 1024 * 1024


def line_of(reply: Any, variant_id: str) -> dict[str, Any]:
    return next(i for i in reply.json["items"] if i["variantId"] == variant_id)


# --- the catalog's attributes win ----------------------------------------------------------------


def test_an_add_that_contradicts_the_variants_attributes_is_refused_naming_the_key(shopper: Shopper) -> None:
    problem = assert_problem(shopper.add(TSHIRT, 1, TSHIRT_M_RED, attributes={"size": "XL", "colour": "gold"}),
                             422, "attribute_conflict")  # fmt: skip
    assert problem["attribute"] == "colour" and problem["catalogValue"] == "red"
    assert assert_problem(shopper.add(TSHIRT, 1, TSHIRT_M_RED, attributes={"size": "XL"}), 422,
                          "attribute_conflict")["attribute"] == "size"  # fmt: skip
    assert shopper.get().json["items"] == []


def test_an_agreeing_catalog_key_is_accepted_and_the_shoppers_own_keys_are_kept(shopper: Shopper, sql) -> None:
    reply = shopper.add(TSHIRT, 1, TSHIRT_M_RED, attributes={"size": "M", "giftNote": "Happy birthday"})
    assert reply.status == 200
    assert line_of(reply, TSHIRT_M_RED)["attributes"] == {"size": "M", "colour": "red", "giftNote": "Happy birthday"}
    stored = one(sql.execute("select selected_attributes from cart_item where variant_id = %s and cart_id = %s",
                         (TSHIRT_M_RED, reply.json["id"])))["selected_attributes"]  # fmt: skip
    assert stored == {"giftNote": "Happy birthday"}  # the catalog's keys are shown from the catalog


def test_a_legacy_line_holding_a_catalog_key_shows_the_catalogs_value(shopper: Shopper, sql) -> None:
    cart_id = shopper.add(TSHIRT, 1, TSHIRT_M_RED).json["id"]
    sql.execute('update cart_item set selected_attributes = \'{"size": "XL"}\' where cart_id = %s', (cart_id,))
    assert line_of(shopper.get(), TSHIRT_M_RED)["attributes"]["size"] == "M"


# --- a line's attributes are bounded, over every add ------------------------------------------------


def test_attributes_accumulated_over_adds_stop_at_the_line_bound(shopper: Shopper) -> None:
    for start in range(0, MAX_LINE_ATTRIBUTES, 5):
        reply = shopper.add(TSHIRT, 1, TSHIRT_M_RED, attributes={f"k{n}": n for n in range(start, start + 5)})
        assert reply.status == 200, reply
    before = shopper.get().json
    problem = assert_problem(shopper.add(TSHIRT, 1, TSHIRT_M_RED, attributes={"one": "more"}), 422, "limit_exceeded")
    assert problem["limit"] == "lineAttributes"
    after = shopper.get().json
    assert after["items"] == before["items"] and after["version"] == before["version"]
    # the keys a line already has may change value
    assert shopper.add(TSHIRT, 1, TSHIRT_M_RED, attributes={"k0": "changed"}).status == 200


def test_attribute_text_accumulated_over_adds_stops_at_the_line_byte_bound(shopper: Shopper) -> None:
    value = "\U0001d7d7" * 64  # 256 bytes of UTF-8: four-byte characters
    added = 0
    while True:
        reply = shopper.add(TSHIRT, 1, TSHIRT_M_RED, attributes={f"note{added}": value})
        if reply.status != 200:
            break
        added += 1
    assert_problem(reply, 422, "limit_exceeded")
    attributes = line_of(shopper.get(), TSHIRT_M_RED)["attributes"]
    own = {k: v for k, v in attributes.items() if k.startswith("note")}
    assert len(own) == added >= 2
    assert len(json.dumps(own, ensure_ascii=False).encode()) <= MAX_LINE_ATTRIBUTE_BYTES


@pytest.mark.parametrize("value", [2**53, -(2**53), 1.5, [1], {"a": 1}, None, "x" * 257, "nul\x00"])
def test_an_attribute_value_outside_text_safe_integer_or_boolean_is_refused(shopper: Shopper, value: Any) -> None:
    problem = assert_problem(shopper.add(TSHIRT, 1, TSHIRT_M_RED, attributes={"n": value}), 422, "validation_failed")
    assert [e["field"] for e in problem["errors"]] == ["attributes.n"]


@pytest.mark.parametrize("value", [2**53 - 1, -(2**53 - 1), True, "", "x" * 256])
def test_an_attribute_value_at_its_bounds_is_accepted(shopper: Shopper, value: Any) -> None:
    assert (
        line_of(shopper.add(TSHIRT, 1, TSHIRT_M_RED, attributes={"n": value}), TSHIRT_M_RED)["attributes"]["n"] == value
    )


# --- the saved list and a merged cart keep the line limit ------------------------------------------------


def test_the_saved_list_holds_at_most_as_many_items_as_a_cart_holds_lines(
    database_url: str, shopper: Shopper, fresh_settings, monkeypatch
) -> None:
    monkeypatch.setenv("MAX_LINES_PER_CART", "2")
    first, second, third = own_products(database_url, "SavedBound", count=3)
    for product in (first, second):
        item = shopper.add(product, 1).json["items"][0]["id"]
        assert shopper.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": item}).status == 200
    item = shopper.add(third, 1).json["items"][0]["id"]
    before = shopper.get().json
    reply = shopper.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": item})
    assert assert_problem(reply, 422, "limit_exceeded")["limit"] == "maxSavedItems"
    after = shopper.get().json
    assert after["items"] == before["items"] and len(after["savedForLater"]) == 2
    # saving onto an item already saved is no new item: it folds in
    assert shopper.add(first, 1).status == 200
    first_line = next(i["id"] for i in shopper.get().json["items"] if i["productId"] == first)
    assert shopper.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": first_line}).status == 200


def test_a_merge_carries_new_lines_only_up_to_the_line_limit(
    database_url: str, make_user, fresh_settings, monkeypatch
) -> None:
    monkeypatch.setenv("MAX_LINES_PER_CART", "3")
    products = own_products(database_url, "MergeBound", count=5)
    user: User = make_user()
    mine = Shopper(bearer=user.access_token)
    for product in products[:2]:
        assert mine.add(product, 1).status == 200
    guest = Shopper()
    for product in products[2:]:
        assert guest.add(product, 1).status == 200
    report = signed_in(guest, user).merge().json["merge"]
    assert [line["productId"] for line in report["added"]] == [products[2]]
    assert {(line["productId"], line["reason"]) for line in report["skipped"]} == {
        (products[3], "max_lines_per_cart"), (products[4], "max_lines_per_cart"),
    }  # fmt: skip
    assert len(mine.get().json["items"]) == 3


def test_a_merge_joins_line_attributes_only_within_the_line_bound(make_user) -> None:
    user: User = make_user()
    mine = Shopper(bearer=user.access_token)
    assert mine.add(TSHIRT, 1, TSHIRT_M_RED, attributes={f"u{n}": n for n in range(15)}).status == 200
    guest = Shopper()
    assert guest.add(TSHIRT, 1, TSHIRT_M_RED, attributes={f"g{n}": n for n in range(15)}).status == 200
    signed_in(guest, user).merge()
    attributes = line_of(mine.get(), TSHIRT_M_RED)["attributes"]
    assert {k for k in attributes if k[0] in "ug"} == {f"u{n}" for n in range(15)}  # the user's kept as they were


def test_the_largest_cart_accepted_requests_can_build_stays_within_the_documented_size(database_url: str) -> None:
    """Every line and saved item at the attribute bounds, in the characters JSON escapes longest."""
    products = own_products(database_url, "Largest", count=200)
    shopper = Shopper()
    note = "\U0001d7d7" * 64  # four-byte characters: 12 bytes each once JSON-escaped
    for n, product in enumerate(products):
        for part in range(MAX_LINE_ATTRIBUTE_BYTES // 300):
            assert shopper.add(product, 1, attributes={f"note{part}": note}).status == 200
        if n < 100:
            item = next(i["id"] for i in shopper.get().json["items"] if i["productId"] == product)
            assert shopper.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": item}).status == 200
    reply = shopper.get()
    assert len(reply.json["items"]) == 100 and len(reply.json["savedForLater"]) == 100
    assert len(reply.raw["body"].encode()) <= MAX_CART_RESPONSE_BYTES


# --- an emptied cart takes no code ---------------------------------------------------------------------


@pytest.fixture
def code(sql: psycopg.Connection[DictRow]) -> str:
    import uuid

    name = f"EMPTY{uuid.uuid4().hex[:8]}".upper()
    sql.execute("insert into discount_code (code, kind, value) values (%s, 'percent', 10)", (name,))
    return name


def test_a_cleared_cart_takes_no_discount_code(shopper: Shopper, code: str) -> None:
    shopper.add(TSHIRT, 1, TSHIRT_M_RED)
    assert shopper.clear().status == 200
    assert_problem(shopper.call("POST", "/cart/discount-codes", body={"code": code}), 409, "cart_empty")
    assert shopper.get().json["discountCodes"] == []


def test_a_cart_whose_every_line_was_saved_takes_no_discount_code(shopper: Shopper, code: str) -> None:
    item = shopper.add(TSHIRT, 1, TSHIRT_M_RED).json["items"][0]["id"]
    shopper.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": item})
    assert_problem(shopper.call("POST", "/cart/discount-codes", body={"code": code}), 409, "cart_empty")


# --- the admin listing: who is calling, then what they asked ---------------------------------------------


def test_the_admin_listing_settles_identity_before_parameters(user: User, cognito, admin: User) -> None:
    guest_token = Shopper()
    guest_token.get()
    for bad in ({"limit": 0}, {"limit": "x", "offset": -1}, {"minValue": "é"}):
        assert_problem(list_as(None, **bad), 401, "authentication_required")
        assert_problem(
            list_as(None, headers={"x-cart-session": guest_token.token or ""}, **bad), 401, "authentication_required"
        )
        assert_problem(list_as(forge(claims_for(user, cognito), key=None, kid="nope"), **bad), 401, "invalid_token")
        assert_problem(list_as(user.access_token, **bad), 403, "forbidden")
        assert_problem(list_as(admin.access_token, **bad), 422, "validation_failed")
