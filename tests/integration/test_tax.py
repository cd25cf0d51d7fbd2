"""Tax through the API (issue 20): TAX_RATES / TAX_INCLUSIVE reach the cart's totals on every
route that answers a cart, in the cart's currency; unset, tax is 0 and the wire says so."""

from __future__ import annotations

import pytest

from cart_common.config import get_settings
from tests.conftest import MUG, Shopper


@pytest.fixture
def tax(fresh_settings, monkeypatch):
    def set_tax(rates: str, inclusive: bool = False) -> None:
        monkeypatch.setenv("TAX_RATES", rates)
        monkeypatch.setenv("TAX_INCLUSIVE", "true" if inclusive else "false")
        get_settings.cache_clear()

    return set_tax


def test_given_no_tax_setting_the_cart_says_tax_0_at_rate_0(shopper: Shopper) -> None:
    totals = shopper.add(MUG, 2).json["totals"]
    assert (totals["tax"], totals["taxRate"], totals["taxIncluded"]) == (0, 0, False)
    assert totals["total"] == 2 * 1250 + 499


def test_exclusive_tax_is_added_to_the_total_of_every_cart_response(shopper: Shopper, tax) -> None:
    tax("USD:825,EUR:2000")
    added = shopper.add(MUG, 2).json["totals"]
    # 8.25 % of 2500 + 499 shipping = 247.4175 → 247
    assert (added["tax"], added["taxRate"], added["taxIncluded"], added["total"]) == (247, 825, False, 3246)
    assert shopper.get().json["totals"] == added
    assert shopper.call("POST", "/cart/validate").json["cart"]["totals"] == added


def test_inclusive_tax_leaves_the_total_as_the_prices_say(shopper: Shopper, tax) -> None:
    tax("USD:2000", inclusive=True)
    totals = shopper.add(MUG, 2).json["totals"]
    # 20 % contained in 2999: 2999 / 6 = 499.83 → 500
    assert (totals["tax"], totals["taxRate"], totals["taxIncluded"], totals["total"]) == (500, 2000, True, 2999)
