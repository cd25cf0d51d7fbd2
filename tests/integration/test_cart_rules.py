"""Cart rules from the seed design: limits, purchase restrictions, discount codes, shipping — on real
PostgreSQL through the handlers, plus the invariant that no combination makes a total negative."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart_common.config import Settings
from cart_common.view import discount_amounts, totals
from tests.conftest import MUG, Shopper, User, one
from tests.integration.test_cart_api import assert_problem


def make_code(sql, **fields) -> str:
    code = fields.pop("code", f"SAVE{uuid.uuid4().hex[:8].upper()}")
    row = {
        "kind": "percent",
        "value": 10,
        "currency": None,
        "min_subtotal": 0,
        "starts_at": None,
        "ends_at": None,
        "usage_limit": None,
        "active": True,
    } | fields
    sql.execute(
        "insert into discount_code (code, kind, value, currency, min_subtotal, starts_at, ends_at, usage_limit, active)"
        " values (%(code)s, %(kind)s, %(value)s, %(currency)s, %(min_subtotal)s, %(starts_at)s, %(ends_at)s,"
        " %(usage_limit)s, %(active)s)",
        row | {"code": code},
    )
    return code


def apply(shopper: Shopper, code: str):
    return shopper.call("POST", "/cart/discount-codes", body={"code": code})


# --- limits -------------------------------------------------------------------------------------


def test_the_number_of_lines_is_limited(shopper: Shopper, make_product, fresh_settings, monkeypatch) -> None:
    monkeypatch.setenv("MAX_LINES_PER_CART", "3")
    products = [make_product() for _ in range(4)]
    for product in products[:3]:
        assert shopper.add(product["id"]).status == 200
    problem = assert_problem(shopper.add(products[3]["id"]), 422, "limit_exceeded")
    assert (problem["limit"], problem["allowed"]) == ("maxLinesPerCart", 3)
    assert shopper.add(products[0]["id"]).status == 200  # more of an existing line is fine


def test_the_cart_value_is_limited(shopper: Shopper, make_product, fresh_settings, monkeypatch) -> None:
    monkeypatch.setenv("MAX_CART_VALUE", "10000")
    product = make_product(price=3000, stock=50)
    item = shopper.add(product["id"], 3).json["items"][0]["id"]
    problem = assert_problem(shopper.add(product["id"], 1), 422, "limit_exceeded")
    assert (problem["limit"], problem["allowed"], problem["cartValue"]) == ("maxCartValue", 10000, 9000)
    assert_problem(shopper.update(item, quantity=4), 422, "limit_exceeded")
    assert shopper.update(item, quantity=2).status == 200  # decreasing is always allowed


def test_the_per_line_maximum_is_the_products_own_when_lower(shopper: Shopper, make_product) -> None:
    product = make_product(stock=50, max_per_order=2)
    problem = assert_problem(shopper.add(product["id"], 3), 422, "limit_exceeded")
    assert problem["allowed"] == 2


# --- purchase restrictions ----------------------------------------------------------------------


def test_a_product_that_requires_sign_in_is_refused_to_guests(shopper: Shopper, user: User, make_product, sql) -> None:
    product = make_product()
    sql.execute("update product set requires_auth = true where id = %s", (product["id"],))
    problem = assert_problem(shopper.add(product["id"]), 422, "restricted")
    assert problem["reason"] == "requires_auth"
    assert Shopper(bearer=user.access_token).add(product["id"]).status == 200


def test_max_per_customer_counts_every_variant(user: User, make_product, sql) -> None:
    product = make_product(variants=[{"stock": 10}, {"stock": 10}])
    sql.execute("update product set max_per_customer = 3 where id = %s", (product["id"],))
    small, large = (v["id"] for v in product["variants"])
    shopper = Shopper(bearer=user.access_token)
    item = shopper.add(product["id"], 2, variant_id=small).json["items"][0]["id"]
    problem = assert_problem(shopper.add(product["id"], 2, variant_id=large), 422, "restricted")
    assert (problem["reason"], problem["allowed"], problem["inCart"]) == ("max_per_customer", 3, 2)
    assert shopper.add(product["id"], 1, variant_id=large).status == 200
    assert_problem(shopper.update(item, quantity=3), 422, "restricted")
    assert_problem(shopper.update(item, variantId=large, quantity=3), 422, "restricted")


def test_products_of_one_exclusive_group_cannot_share_a_cart(shopper: Shopper, make_product, sql) -> None:
    plan_a, plan_b, other = make_product(), make_product(), make_product()
    sql.execute("update product set exclusive_group = 'phone-plan' where id in (%s, %s)", (plan_a["id"], plan_b["id"]))
    shopper.add(plan_a["id"])
    problem = assert_problem(shopper.add(plan_b["id"]), 409, "incompatible")
    assert (problem["conflictsWith"], problem["group"]) == (plan_a["id"], "phone-plan")
    assert shopper.add(plan_a["id"]).status == 200 and shopper.add(other["id"]).status == 200


# --- discount codes -----------------------------------------------------------------------------


def test_a_percent_code_is_case_insensitive_and_rounds_down(shopper: Shopper, make_product, sql) -> None:
    code = make_code(sql, value=15)
    shopper.add(make_product(price=999)["id"], 1)
    cart = apply(shopper, code.lower()).json
    (applied,) = cart["discountCodes"]
    assert applied == {"code": code, "kind": "percent", "value": 15, "amount": 149, "applicable": True, "reason": None}
    assert cart["totals"]["discount"] == 149
    assert cart["totals"]["total"] == 999 - 149 + 499


def test_a_fixed_code_never_makes_the_total_negative(
    shopper: Shopper, make_product, sql, fresh_settings, monkeypatch
) -> None:
    monkeypatch.setenv("SHIPPING_FLAT_RATE", "0")
    code = make_code(sql, kind="fixed", value=10_000, currency="USD")
    shopper.add(make_product(price=500)["id"], 1)
    totals_ = apply(shopper, code).json["totals"]
    assert totals_["discount"] == 500 and totals_["total"] == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ends_at": datetime.now(UTC) - timedelta(days=1)}, "expired"),
        ({"starts_at": datetime.now(UTC) + timedelta(days=1)}, "not_yet_valid"),
        ({"active": False}, "inactive"),
        ({"min_subtotal": 100_000}, "minimum_not_met"),
        ({"kind": "fixed", "value": 500, "currency": "EUR"}, "currency_mismatch"),
    ],
)
def test_codes_that_do_not_apply_are_422_with_the_reason(shopper: Shopper, sql, fields, reason) -> None:
    shopper.add(MUG)
    problem = assert_problem(apply(shopper, make_code(sql, **fields)), 422, "discount_code_invalid")
    assert problem["reason"] == reason
    assert shopper.get().json["discountCodes"] == []


def test_an_unknown_code_is_422_unknown(shopper: Shopper) -> None:
    shopper.add(MUG)
    assert assert_problem(apply(shopper, "NO-SUCH-CODE"), 422, "discount_code_invalid")["reason"] == "unknown"


def test_a_used_up_code_is_refused_and_completion_counts_uses(user: User, make_product, sql) -> None:
    import uuid as _uuid

    from cart_common import carts

    code = make_code(sql, usage_limit=1)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(make_product()["id"])
    apply(shopper, code)
    checkout_id = shopper.call("POST", "/cart/checkout").json["checkoutId"]
    carts.complete_checkout(_uuid.UUID(checkout_id))
    assert one(sql.execute("select times_used from discount_code where code = %s", (code,)))["times_used"] == 1
    other = Shopper()
    other.add(MUG)
    assert assert_problem(apply(other, code), 422, "discount_code_invalid")["reason"] == "usage_limit_reached"


def test_a_code_that_stops_applying_stays_on_the_cart_taking_nothing(shopper: Shopper, make_product, sql) -> None:
    product = make_product(price=3000, stock=10)
    code = make_code(sql, min_subtotal=5000)
    item = shopper.add(product["id"], 2).json["items"][0]["id"]
    assert apply(shopper, code).json["totals"]["discount"] == 600
    cart = shopper.update(item, quantity=1).json
    assert cart["discountCodes"][0]["applicable"] is False and cart["discountCodes"][0]["reason"] == "minimum_not_met"
    assert cart["totals"]["discount"] == 0


def test_removing_a_code(shopper: Shopper, sql) -> None:
    code = make_code(sql)
    shopper.add(MUG)
    apply(shopper, code)
    cart = shopper.call("DELETE", "/cart/discount-codes/{code}", path_params={"code": code.lower()}).json
    assert cart["discountCodes"] == [] and cart["totals"]["discount"] == 0
    again = shopper.call("DELETE", "/cart/discount-codes/{code}", path_params={"code": code})
    assert_problem(again, 404, "discount_code_not_applied")


def test_a_code_needs_a_cart(shopper: Shopper, sql) -> None:
    assert_problem(apply(shopper, make_code(sql)), 409, "cart_empty")


def test_unknown_fields_in_a_code_request_are_rejected(shopper: Shopper) -> None:
    reply = shopper.call("POST", "/cart/discount-codes", body={"code": "X", "amount": 100})
    assert_problem(reply, 422, "validation_failed")


# --- shipping -----------------------------------------------------------------------------------


def test_shipping_is_free_from_the_threshold_and_says_how_far_it_is(shopper: Shopper, make_product) -> None:
    product = make_product(price=2000, stock=10)
    item = shopper.add(product["id"], 2).json["items"][0]["id"]
    below = shopper.get().json["totals"]
    assert (below["shipping"], below["freeShippingRemaining"], below["total"]) == (499, 1000, 4499)
    above = shopper.update(item, quantity=3).json["totals"]
    assert (above["shipping"], above["freeShippingRemaining"], above["total"]) == (0, 0, 6000)


def test_the_threshold_applies_after_discounts(shopper: Shopper, make_product, sql) -> None:
    shopper.add(make_product(price=5000)["id"], 1)
    totals_ = apply(shopper, make_code(sql, value=10)).json["totals"]
    assert (totals_["discount"], totals_["shipping"], totals_["freeShippingRemaining"]) == (500, 499, 500)


# --- the invariant ------------------------------------------------------------------------------

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def _percent_at_most_100(code: dict[str, Any]) -> dict[str, Any]:
    return code | {"value": min(code["value"], 100)} if code["kind"] == "percent" else code


codes = st.lists(
    st.fixed_dictionaries(
        {
            "code": st.text("ABCDEF", min_size=1, max_size=4),
            "kind": st.sampled_from(["percent", "fixed"]),
            "value": st.integers(1, 10**9),
            "currency": st.sampled_from(["USD", "EUR"]),
            "min_subtotal": st.integers(0, 10**7),
            "starts_at": st.none() | st.just(NOW - timedelta(days=1)) | st.just(NOW + timedelta(days=1)),
            "ends_at": st.none() | st.just(NOW - timedelta(hours=1)) | st.just(NOW + timedelta(days=3)),
            "usage_limit": st.none() | st.integers(1, 3),
            "times_used": st.integers(0, 4),
            "active": st.booleans(),
            "now": st.just(NOW),
        }
    ).map(_percent_at_most_100),
    max_size=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.tuples(st.integers(0, 10**9), st.integers(1, 99)), max_size=20),
    applied=codes,
    flat=st.integers(0, 10**6),
    threshold=st.none() | st.integers(0, 10**8),
)
def test_the_total_is_never_negative_for_any_lines_discounts_and_shipping(lines, applied, flat, threshold) -> None:
    subtotal = sum(price * quantity for price, quantity in lines)
    amounts = discount_amounts(applied, subtotal, "USD")
    discount = sum(a.amount for a in amounts)
    result = totals(
        subtotal, discount, bool(lines), Settings(shipping_flat_rate=flat, free_shipping_threshold=threshold)
    )
    assert 0 <= discount <= subtotal
    assert all(a.amount >= 0 and (a.applicable or a.amount == 0) for a in amounts)
    assert result.total >= 0 and result.shipping >= 0 and result.free_shipping_remaining >= 0
    assert result.total == subtotal - discount + result.shipping + result.tax
