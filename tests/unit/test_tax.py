"""Tax in the cart's totals (issue 20): a rate in basis points per currency, inclusive or exclusive,
on the discounted subtotal plus shipping, rounded half up once per cart; 0 by default."""

from __future__ import annotations

import uuid
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cart_common.config import Settings
from cart_common.store import CartRows
from cart_common.view import build_cart, totals

# Shipping 499 below a 5000 threshold unless a test says otherwise.
USD_825 = Settings(tax_rates="USD:825,EUR:2000")
INCLUSIVE = Settings(tax_rates="USD:825,EUR:2000", tax_inclusive=True)


def test_given_no_tax_configured_then_tax_is_0_and_the_total_is_unchanged() -> None:
    result = totals(2500, 0, True, Settings(), "USD")
    assert (result.tax, result.tax_rate, result.tax_included) == (0, 0, False)
    assert result.total == 2500 + 499


def test_given_exclusive_tax_then_it_is_added_on_the_goods_and_the_shipping() -> None:
    result = totals(2500, 0, True, USD_825, "USD")
    # 8.25 % of 2999 = 247.4175 → 247
    assert (result.shipping, result.tax, result.tax_rate, result.tax_included) == (499, 247, 825, False)
    assert result.total == 2500 + 499 + 247


def test_given_inclusive_tax_then_it_is_the_part_of_the_total_that_is_tax_and_the_total_is_unchanged() -> None:
    result = totals(10_000, 0, True, INCLUSIVE, "EUR")
    # 20 % VAT contained in 10000 (free shipping): 10000 * 2000 / 12000 = 1666.67 → 1667
    assert (result.shipping, result.tax, result.tax_rate, result.tax_included) == (0, 1667, 2000, True)
    assert result.total == 10_000


def test_discounts_come_off_before_tax() -> None:
    result = totals(10_000, 2_000, True, USD_825, "USD")
    assert result.tax == 660 and result.total == 8_000 + 660  # 8.25 % of 8000, shipping free


@pytest.mark.parametrize(
    ("taxable", "rate", "tax"),
    [
        (1000, 825, 83),  # 82.5: half up (banker's rounding would say 82)
        (1000, 835, 84),  # 83.5 → 84 (banker's: 84 too)
        (4, 1000, 0),  # 0.4
        (5, 1000, 1),  # 0.5
        (15, 1000, 2),  # 1.5
        (1, 1, 0),  # 0.0001
    ],
)
def test_exclusive_tax_rounds_half_up_once_per_cart(taxable: int, rate: int, tax: int) -> None:
    no_shipping = Settings(tax_rates=f"USD:{rate}", shipping_flat_rate=0)
    assert totals(taxable, 0, True, no_shipping, "USD").tax == tax


def test_inclusive_tax_rounds_half_up_too() -> None:
    no_shipping = Settings(tax_rates="EUR:2000", tax_inclusive=True, shipping_flat_rate=0)
    assert totals(999, 0, True, no_shipping, "EUR").tax == 167  # 999 / 6 = 166.5 → 167
    assert totals(1200, 0, True, no_shipping, "EUR").tax == 200  # exact


def test_each_currency_has_its_own_rate_and_an_unnamed_currency_none() -> None:
    no_shipping = Settings(tax_rates="USD:825,EUR:2000", shipping_flat_rate=0)
    assert [totals(10_000, 0, True, no_shipping, c).tax for c in ("USD", "EUR", "GBP")] == [825, 2000, 0]
    assert totals(10_000, 0, True, no_shipping, "GBP").tax_rate == 0


def test_the_cart_is_taxed_in_its_own_currency() -> None:
    row = {
        "cart_id": uuid.uuid4(), "version": 1, "currency": "EUR", "item_id": uuid.uuid4(),
        "product_id": uuid.uuid4(), "variant_id": None, "sku": None, "name": "Mug", "slug": "mug", "image_url": None,
        "attributes": {}, "quantity": 2, "price_at_add": 1500, "unit_price": 1500, "active": True,
        "available_stock": 10, "max_per_order": None,
    }  # fmt: skip
    cart = build_cart(CartRows([row]), Settings(tax_rates="USD:825,EUR:2000", shipping_flat_rate=0))
    assert (cart.totals.tax, cart.totals.tax_rate, cart.totals.total) == (600, 2000, 3600)
    wire = cart.model_dump(mode="json", by_alias=True)["totals"]
    assert wire["taxRate"] == 2000 and wire["taxIncluded"] is False


def test_an_empty_cart_owes_no_tax() -> None:
    assert totals(0, 0, False, USD_825, "USD").tax == 0


@pytest.mark.parametrize(
    "value", ["USD", "USD:", "usd:825", "USD:825;EUR:2000", "USD:10001", "USD:825,USD:900", "USD:-1", "USD:8.25"]
)
def test_a_malformed_tax_rates_setting_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(tax_rates=value)


def test_tax_rates_allow_spaces_and_zero() -> None:
    assert Settings(tax_rates=" USD:0 , EUR:2000 ").tax_rate("EUR") == 2000


@settings(max_examples=300, deadline=None)
@given(
    subtotal=st.integers(0, 10**9),
    discount_share=st.fractions(0, 1),
    rate=st.integers(0, 10_000),
    flat=st.integers(0, 10**4),
    inclusive=st.booleans(),
)
def test_tax_is_within_half_a_minor_unit_of_the_exact_amount_and_the_total_adds_up(
    subtotal: int, discount_share: Fraction, rate: int, flat: int, inclusive: bool
) -> None:
    discount = int(subtotal * discount_share)
    config = Settings(tax_rates=f"USD:{rate}", tax_inclusive=inclusive, shipping_flat_rate=flat)
    result = totals(subtotal, discount, subtotal > 0, config, "USD")
    taxable = subtotal - discount + result.shipping
    exact = Fraction(taxable * rate, 10_000 + rate) if inclusive else Fraction(taxable * rate, 10_000)
    assert -Fraction(1, 2) < result.tax - exact <= Fraction(1, 2)  # half up: x.5 goes up
    assert result.total == taxable + (0 if inclusive else result.tax)
    assert 0 <= result.tax <= taxable
