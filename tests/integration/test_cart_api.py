"""Every cart operation and every error, through the Lambda handlers with API Gateway v2 events, on
real PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.conftest import (
    HOODIE,
    HOODIE_XXL,
    MUG,
    POSTER,
    RETIRED_CAP,
    SHOE_42,
    SHOES,
    TSHIRT,
    TSHIRT_L_RED,
    TSHIRT_M_RED,
    TSHIRT_S_RED,
    Shopper,
    one,
)


def assert_problem(reply, status: int, code: str) -> dict:
    assert reply.status == status, reply
    assert reply.content_type == "application/problem+json"
    body = reply.json
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"/problems/{code}"
    assert body["title"] and body["detail"]
    return body


def carts_for(sql, token: str) -> list[dict]:
    return sql.execute(
        "select * from cart where session_id = %s", (hashlib.sha256(token.encode()).hexdigest(),)
    ).fetchall()


# --- GET /cart and guest sessions -------------------------------------------------------------


def test_first_visit_gets_an_empty_cart_and_a_new_session_without_writing(shopper: Shopper, sql) -> None:
    # Given a new visitor  When they read their cart
    before = one(sql.execute("select count(*) as n from cart"))["n"]
    reply = shopper.get()
    # Then the cart is empty and has no id, and a guest token arrives in the header and the cookie
    assert reply.status == 200
    assert reply.json == {
        "id": None,
        "version": 0,
        "currency": "USD",
        "items": [],
        "itemCount": 0,
        "subtotal": 0,
        "totals": {
            "subtotal": 0,
            "discount": 0,
            "shipping": 0,
            "tax": 0,
            "total": 0,
            "freeShippingRemaining": 5000,
            "taxRate": 0,
            "taxIncluded": False,
        },
        "discountCodes": [],
        "savedForLater": [],
    }
    token = reply.headers["X-Cart-Session"]
    assert token.startswith("v1.") and len(token) > 40
    (cookie,) = reply.cookies
    assert cookie.startswith(f"cart_session={token};")
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=2592000"):
        assert attribute in cookie
    # And nothing was written
    assert one(sql.execute("select count(*) as n from cart"))["n"] == before


def test_the_database_stores_a_hash_of_the_token_never_the_token(shopper: Shopper, sql) -> None:
    shopper.add(MUG)
    (cart,) = carts_for(sql, shopper.session_token)
    assert cart["session_id"] == hashlib.sha256(shopper.session_token.encode()).hexdigest()
    assert one(sql.execute("select count(*) as n from cart where session_id = %s", (shopper.token,)))["n"] == 0


def test_the_token_is_accepted_from_the_cookie_as_from_the_header() -> None:
    by_cookie = Shopper(use_cookie=True)
    by_cookie.add(MUG, 2)
    reply = by_cookie.get()
    assert reply.json["itemCount"] == 2
    # An existing session is not re-issued on a read
    assert "X-Cart-Session" not in reply.headers and reply.cookies == []


def test_a_forged_token_counts_as_no_token(shopper: Shopper) -> None:
    shopper.add(MUG, 3)
    body, _, signature = shopper.session_token.rpartition(".")
    forged = f"{body}.{'A' * len(signature)}"
    intruder = Shopper()
    intruder.token = forged
    reply = intruder.get()
    assert reply.json["items"] == [] and reply.json["id"] is None
    assert reply.headers["X-Cart-Session"] != forged  # a fresh session instead


@pytest.mark.parametrize("garbage", ["", "abc", "v1.x.y", "v2.a.b", "v1." + "a" * 300 + ".b", "v1.a.b.c"])
def test_malformed_tokens_start_a_new_session(garbage: str) -> None:
    shopper = Shopper()
    shopper.token = garbage
    reply = shopper.get()
    assert reply.status == 200
    assert reply.headers["X-Cart-Session"] != garbage


# --- POST /cart/items ---------------------------------------------------------------------------


def test_adding_a_product_captures_its_price_and_totals(shopper: Shopper, sql) -> None:
    reply = shopper.add(MUG, 2)
    assert reply.status == 200
    cart = reply.json
    assert cart["id"] is not None and cart["version"] == 1 and cart["currency"] == "USD"
    (item,) = cart["items"]
    assert item["productId"] == MUG and item["variantId"] is None and item["name"] == "Coffee mug"
    # the storefront links the line to /products/<slug> and shows the catalog's image
    assert item["slug"] == "coffee-mug" and item["imageUrl"] == "/img/coffee-mug.webp"
    assert item["quantity"] == 2 and item["unitPrice"] == 1250 and item["priceAtAdd"] == 1250
    assert item["lineTotal"] == 2500 and item["priceChanged"] is False
    # The mug's stock is 40, less what other tests' shoppers hold in open checkouts (one definition
    # of available stock, migration 0013).
    available = one(sql.execute("select available_stock(%s, %s, null) as n", (cart["id"], MUG)))["n"]
    assert 30 <= available <= 40
    assert item["available"] is True and item["maxQuantity"] == available
    assert cart["itemCount"] == 2 and cart["subtotal"] == 2500
    # below the free-shipping threshold (5000): the flat rate (499) applies
    assert cart["totals"] == {
        "subtotal": 2500,
        "discount": 0,
        "shipping": 499,
        "tax": 0,
        "total": 2999,
        "freeShippingRemaining": 2500,
        "taxRate": 0,
        "taxIncluded": False,
    }


def test_adding_the_same_product_again_increments_its_line(shopper: Shopper) -> None:
    shopper.add(MUG, 2)
    cart = shopper.add(MUG, 3).json
    assert [(i["productId"], i["quantity"]) for i in cart["items"]] == [(MUG, 5)]
    assert cart["version"] == 2


def test_a_line_shows_the_products_slug_and_image_as_the_catalog_has_them_now(
    shopper: Shopper, make_product, sql
) -> None:
    # Given a line of a product without an image
    product = make_product()
    (item,) = shopper.add(product["id"], 1).json["items"]
    assert item["imageUrl"] is None and item["slug"].startswith("p-")
    # When the catalog renames its slug and gives it an image
    slug = f"renamed-{uuid.uuid4().hex[:8]}"
    sql.execute("update product set slug = %s, image_url = '/img/hoodie.webp' where id = %s", (slug, product["id"]))
    # Then the next read of the cart links to the new page and shows the image
    (item,) = shopper.get().json["items"]
    assert (item["slug"], item["imageUrl"]) == (slug, "/img/hoodie.webp")


def test_quantity_defaults_to_one(shopper: Shopper) -> None:
    assert shopper.add(MUG, quantity=None).json["items"][0]["quantity"] == 1


def test_variants_are_separate_lines_with_their_attributes(shopper: Shopper) -> None:
    shopper.add(TSHIRT, 1, variant_id=TSHIRT_S_RED, attributes={"giftWrap": True})
    cart = shopper.add(TSHIRT, 2, variant_id=TSHIRT_M_RED).json
    lines = {i["variantId"]: i for i in cart["items"]}
    assert set(lines) == {TSHIRT_S_RED, TSHIRT_M_RED}
    assert lines[TSHIRT_S_RED]["sku"] == "TSHIRT-S-RED"
    assert lines[TSHIRT_S_RED]["attributes"] == {"size": "S", "colour": "red", "giftWrap": True}
    assert lines[TSHIRT_M_RED]["quantity"] == 2
    assert {line["slug"] for line in lines.values()} == {"classic-t-shirt"}  # a variant's line: its product's page
    assert cart["itemCount"] == 3 and cart["subtotal"] == 3 * 1999


def test_a_variant_price_overrides_the_product_price(shopper: Shopper) -> None:
    (item,) = shopper.add(HOODIE, 1, variant_id="00000000-0000-4000-8001-000000000009").json["items"]
    assert item["unitPrice"] == 5400


def test_a_product_with_variants_needs_a_variant(shopper: Shopper) -> None:
    body = assert_problem(shopper.add(TSHIRT, 1), 422, "variant_required")
    assert body["productId"] == TSHIRT


@pytest.mark.parametrize(
    ("product", "variant"),
    [
        ("7d3f2a9e-0b7c-4f4e-9d61-3a1c2b4e5f60", None),  # unknown product
        (RETIRED_CAP, None),  # inactive product
        (HOODIE, HOODIE_XXL),  # inactive variant
        (TSHIRT, SHOE_42),  # a variant of another product
        (MUG, TSHIRT_S_RED),  # a variant on a product without variants
        (TSHIRT, "5b9e8c1d-2f3a-4b6c-8d7e-9f0a1b2c3d4e"),  # unknown variant
    ],
)
def test_unknown_or_inactive_products_and_variants_are_404(shopper: Shopper, sql, product, variant) -> None:
    assert_problem(shopper.add(product, 1, variant_id=variant), 404, "product_not_found")
    # and a failed first add leaves no cart behind
    assert carts_for(sql, shopper.session_token) == []


def test_more_than_the_stock_is_409_with_what_is_available(shopper: Shopper) -> None:
    body = assert_problem(shopper.add(POSTER, 4), 409, "insufficient_stock")
    assert body["maxAvailable"] == 3 and body["inCart"] == 0
    shopper.add(POSTER, 2)
    body = assert_problem(shopper.add(POSTER, 2), 409, "insufficient_stock")
    assert body["maxAvailable"] == 3 and body["inCart"] == 2
    assert shopper.get().json["items"][0]["quantity"] == 2  # unchanged by the refused add


def test_out_of_stock_variant_is_409(shopper: Shopper) -> None:
    assert_problem(shopper.add(TSHIRT, 1, variant_id=TSHIRT_L_RED), 409, "insufficient_stock")


def test_the_per_line_maximum_is_422(shopper: Shopper, make_product) -> None:
    plenty = make_product(stock=1000)
    body = assert_problem(shopper.add(plenty["id"], 100), 422, "limit_exceeded")
    assert body["limit"] == "maxQuantityPerLine" and body["allowed"] == 99
    assert shopper.add(plenty["id"], 99).status == 200


def test_a_products_own_max_per_order_is_the_line_maximum(shopper: Shopper) -> None:
    shopper.add(SHOES, 3, variant_id=SHOE_42)
    body = assert_problem(shopper.add(SHOES, 2, variant_id=SHOE_42), 422, "limit_exceeded")
    assert body["allowed"] == 4 and body["inCart"] == 3


def test_the_per_line_maximum_is_configurable(shopper: Shopper, make_product, fresh_settings, monkeypatch) -> None:
    monkeypatch.setenv("MAX_QUANTITY_PER_LINE", "5")
    product = make_product(stock=100)
    body = assert_problem(shopper.add(product["id"], 6), 422, "limit_exceeded")
    assert body["allowed"] == 5


def test_a_cart_has_one_currency(shopper: Shopper, make_product) -> None:
    euro = make_product(currency="EUR")
    shopper.add(MUG)
    body = assert_problem(shopper.add(euro["id"]), 422, "currency_mismatch")
    assert body["cartCurrency"] == "USD" and body["productCurrency"] == "EUR"


def test_a_cart_takes_the_currency_of_its_first_product(shopper: Shopper, make_product) -> None:
    euro = make_product(currency="EUR", price=500)
    assert shopper.add(euro["id"], 2).json["currency"] == "EUR"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"productId": MUG, "quantity": 0}, "quantity"),
        ({"productId": MUG, "quantity": -1}, "quantity"),
        ({"productId": MUG, "quantity": "2"}, "quantity"),
        ({"productId": MUG, "quantity": 1.5}, "quantity"),
        ({"productId": MUG, "quantity": True}, "quantity"),
        ({"productId": MUG, "quantity": 10**12}, "quantity"),
        ({"productId": "not-a-uuid"}, "productId"),
        ({"quantity": 1}, "productId"),
        ({"productId": MUG, "price": 1}, "price"),
        ({"productId": MUG, "unitPrice": 1}, "unitPrice"),
        ({"productId": MUG, "attributes": "red"}, "attributes"),
        ({"productId": MUG, "attributes": {"k": {"nested": 1}}}, "attributes.k"),
    ],
)
def test_bad_add_bodies_are_422_naming_the_field(shopper: Shopper, body, field) -> None:
    problem = assert_problem(shopper.call("POST", "/cart/items", body=body), 422, "validation_failed")
    assert any(e["field"] == field or e["field"].startswith(field + ".") for e in problem["errors"]), problem
    assert field.split(".")[0] in problem["detail"]


@pytest.mark.parametrize("raw", ["{", "not json", '{"productId": ', "[1, 2"])
def test_malformed_json_is_400(shopper: Shopper, raw: str) -> None:
    assert_problem(shopper.call("POST", "/cart/items", raw_body=raw), 400, "malformed_json")


@pytest.mark.parametrize("raw", ["[]", "3", '"text"', "null"])
def test_a_body_that_is_not_an_object_is_422(shopper: Shopper, raw: str) -> None:
    assert_problem(shopper.call("POST", "/cart/items", raw_body=raw), 422, "validation_failed")


# --- PATCH /cart/items/{itemId} --------------------------------------------------------------


def test_setting_a_quantity(shopper: Shopper) -> None:
    item_id = shopper.add(MUG, 2).json["items"][0]["id"]
    cart = shopper.update(item_id, quantity=7).json
    assert cart["items"][0]["quantity"] == 7 and cart["itemCount"] == 7 and cart["version"] == 2


def test_quantity_zero_removes_the_line(shopper: Shopper) -> None:
    item_id = shopper.add(MUG, 2).json["items"][0]["id"]
    shopper.add(POSTER, 1)
    cart = shopper.update(item_id, quantity=0).json
    assert [i["productId"] for i in cart["items"]] == [POSTER]


def test_setting_more_than_the_stock_is_409(shopper: Shopper) -> None:
    item_id = shopper.add(POSTER, 1).json["items"][0]["id"]
    assert assert_problem(shopper.update(item_id, quantity=4), 409, "insufficient_stock")["maxAvailable"] == 3
    assert shopper.get().json["items"][0]["quantity"] == 1


def test_setting_more_than_the_line_maximum_is_422(shopper: Shopper, make_product) -> None:
    item_id = shopper.add(make_product(stock=500)["id"], 1).json["items"][0]["id"]
    assert assert_problem(shopper.update(item_id, quantity=100), 422, "limit_exceeded")["allowed"] == 99


def test_switching_the_variant_moves_the_line_at_the_new_price(shopper: Shopper, make_product) -> None:
    product = make_product(price=1000, variants=[{"price": None, "stock": 5}, {"price": 1500, "stock": 5}])
    small, large = (v["id"] for v in product["variants"])
    item_id = shopper.add(product["id"], 2, variant_id=small).json["items"][0]["id"]
    (item,) = shopper.update(item_id, variantId=large).json["items"]
    assert item["id"] == item_id and item["variantId"] == large
    assert item["quantity"] == 2 and item["unitPrice"] == 1500 and item["priceAtAdd"] == 1500


def test_switching_to_a_variant_already_in_the_cart_folds_the_lines(shopper: Shopper) -> None:
    shopper.add(TSHIRT, 2, variant_id=TSHIRT_S_RED)
    cart = shopper.add(TSHIRT, 3, variant_id=TSHIRT_M_RED).json
    small_line = next(i for i in cart["items"] if i["variantId"] == TSHIRT_S_RED)
    cart = shopper.update(small_line["id"], variantId=TSHIRT_M_RED).json
    assert [(i["variantId"], i["quantity"]) for i in cart["items"]] == [(TSHIRT_M_RED, 5)]


def test_switching_variant_and_quantity_together(shopper: Shopper) -> None:
    item_id = shopper.add(TSHIRT, 2, variant_id=TSHIRT_S_RED).json["items"][0]["id"]
    (item,) = shopper.update(item_id, variantId=TSHIRT_M_RED, quantity=4).json["items"]
    assert (item["variantId"], item["quantity"]) == (TSHIRT_M_RED, 4)


def test_folding_beyond_the_stock_is_409_and_changes_nothing(shopper: Shopper, make_product) -> None:
    product = make_product(variants=[{"stock": 10}, {"stock": 4}])
    a, b = (v["id"] for v in product["variants"])
    shopper.add(product["id"], 3, variant_id=a)
    cart = shopper.add(product["id"], 3, variant_id=b).json
    line_a = next(i for i in cart["items"] if i["variantId"] == a)
    assert_problem(shopper.update(line_a["id"], variantId=b), 409, "insufficient_stock")
    assert sorted(i["quantity"] for i in shopper.get().json["items"]) == [3, 3]


def test_switching_to_an_inactive_or_foreign_variant_is_404(shopper: Shopper) -> None:
    item_id = shopper.add(HOODIE, 1, variant_id="00000000-0000-4000-8001-000000000008").json["items"][0]["id"]
    assert_problem(shopper.update(item_id, variantId=HOODIE_XXL), 404, "product_not_found")
    assert_problem(shopper.update(item_id, variantId=TSHIRT_S_RED), 404, "product_not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": "1"}, "quantity"),
        ({"price": 5}, "price"),
        ({"variantId": "x"}, "variantId"),
    ],
)
def test_bad_update_bodies_are_422(shopper: Shopper, body, field) -> None:
    item_id = shopper.add(MUG).json["items"][0]["id"]
    problem = assert_problem(shopper.update(item_id, **body), 422, "validation_failed")
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem


def test_a_non_uuid_item_id_is_422_naming_it(shopper: Shopper) -> None:
    reply = shopper.call("PATCH", "/cart/items/{itemId}", path_params={"itemId": "42"}, body={"quantity": 1})
    assert assert_problem(reply, 422, "validation_failed")["errors"][0]["field"] == "itemId"


# --- ownership ------------------------------------------------------------------------------


def test_another_owners_item_is_404_and_untouched(shopper: Shopper, other_shopper: Shopper) -> None:
    item_id = shopper.add(MUG, 2).json["items"][0]["id"]
    other_shopper.add(POSTER, 1)
    assert_problem(other_shopper.update(item_id, quantity=5), 404, "item_not_found")
    assert_problem(other_shopper.update(item_id, variantId=TSHIRT_S_RED), 404, "item_not_found")
    assert_problem(other_shopper.remove(item_id), 404, "item_not_found")
    assert shopper.get().json["items"][0]["quantity"] == 2


def test_an_unknown_item_is_404(shopper: Shopper) -> None:
    assert_problem(shopper.update(str(uuid.uuid4()), quantity=1), 404, "item_not_found")
    assert_problem(shopper.remove(str(uuid.uuid4())), 404, "item_not_found")


# --- DELETE ---------------------------------------------------------------------------------


def test_removing_a_line(shopper: Shopper) -> None:
    mug = shopper.add(MUG, 2).json["items"][0]["id"]
    shopper.add(POSTER, 1)
    cart = shopper.remove(mug).json
    assert [i["productId"] for i in cart["items"]] == [POSTER] and cart["itemCount"] == 1
    assert_problem(shopper.remove(mug), 404, "item_not_found")


def test_clearing_the_cart(shopper: Shopper) -> None:
    shopper.add(MUG, 2)
    shopper.add(POSTER, 1)
    cart = shopper.clear().json
    assert cart["items"] == [] and cart["itemCount"] == 0 and cart["totals"]["total"] == 0
    assert cart["id"] is not None  # the cart stays; its lines go


def test_clearing_when_there_is_no_cart_is_an_empty_cart(shopper: Shopper) -> None:
    reply = shopper.clear()
    assert reply.status == 200 and reply.json["items"] == [] and reply.json["id"] is None


# --- prices, stock and expiry as the catalog changes -------------------------------------------


def test_totals_use_the_current_price_and_flag_the_change(shopper: Shopper, make_product, sql) -> None:
    product = make_product(price=1000)
    shopper.add(product["id"], 2)
    sql.execute("update product set price = 800 where id = %s", (product["id"],))
    cart = shopper.get().json
    (item,) = cart["items"]
    assert item["priceAtAdd"] == 1000 and item["unitPrice"] == 800 and item["priceChanged"] is True
    assert item["lineTotal"] == 1600 and cart["subtotal"] == 1600 and cart["totals"]["total"] == 1600 + 499


def test_a_line_above_the_current_stock_is_flagged_unavailable(shopper: Shopper, make_product, sql) -> None:
    product = make_product(stock=10)
    shopper.add(product["id"], 5)
    sql.execute("update product set stock = 2 where id = %s", (product["id"],))
    (item,) = shopper.get().json["items"]
    assert item["available"] is False and item["maxQuantity"] == 2


def test_a_deactivated_product_stays_visible_but_unavailable(shopper: Shopper, make_product, sql) -> None:
    product = make_product()
    item_id = shopper.add(product["id"], 1).json["items"][0]["id"]
    sql.execute("update product set active = false where id = %s", (product["id"],))
    (item,) = shopper.get().json["items"]
    assert item["available"] is False and item["maxQuantity"] == 0
    assert_problem(shopper.update(item_id, quantity=2), 409, "product_unavailable")
    assert shopper.remove(item_id).status == 200


def test_every_change_bumps_the_version_and_slides_the_expiry(shopper: Shopper, sql) -> None:
    shopper.add(MUG)
    (cart,) = carts_for(sql, shopper.session_token)
    sql.execute("update cart set expires_at = now() + interval '1 day' where id = %s", (cart["id"],))
    shopper.add(MUG)
    (after,) = carts_for(sql, shopper.session_token)
    assert after["version"] == 2
    assert after["expires_at"] > cart["expires_at"]  # slid to now + 30 days
    assert after["last_activity_at"] >= cart["last_activity_at"]


def test_a_successful_change_re_sends_the_session_so_the_cookie_slides() -> None:
    shopper = Shopper(use_cookie=True)
    token = shopper.get().headers["X-Cart-Session"]
    reply = shopper.add(MUG)
    assert reply.headers["X-Cart-Session"] == token and reply.cookies[0].startswith(f"cart_session={token};")


def test_an_emptied_cart_takes_the_currency_of_its_next_product(shopper: Shopper, make_product) -> None:
    euro = make_product(currency="EUR", price=700)
    shopper.add(MUG)
    shopper.clear()
    cart = shopper.add(euro["id"], 1).json
    assert cart["currency"] == "EUR" and cart["subtotal"] == 700
