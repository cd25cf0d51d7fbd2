"""Building the wire cart from rows: totals from current prices, availability, limits."""

from __future__ import annotations

import uuid

from cart_common.config import Settings
from cart_common.errors import InsufficientStock, Problem
from cart_common.store import CartRows
from cart_common.view import build_cart

SETTINGS = Settings(max_quantity_per_line=99, default_currency="EUR")


def row(**overrides):
    base = {
        "cart_id": uuid.uuid4(),
        "version": 3,
        "currency": "USD",
        "item_id": uuid.uuid4(),
        "product_id": uuid.uuid4(),
        "variant_id": None,
        "sku": None,
        "name": "Mug",
        "slug": "mug",
        "image_url": None,
        "attributes": {},
        "quantity": 2,
        "price_at_add": 1000,
        "unit_price": 1000,
        "active": True,
        "available_stock": 50,
        "max_per_order": None,
    }
    return base | overrides


def test_no_cart_yet_is_an_empty_cart_in_the_default_currency() -> None:
    cart = build_cart(CartRows([]), SETTINGS)
    assert cart.id is None and cart.version == 0 and cart.currency == "EUR" and cart.totals.total == 0


def test_an_empty_cart_row_has_no_items() -> None:
    cart = build_cart(CartRows([row(item_id=None)]), SETTINGS)
    assert cart.id is not None and cart.items == [] and cart.item_count == 0


def test_totals_use_current_prices() -> None:
    cart = build_cart(
        CartRows(
            [row(quantity=3, price_at_add=1000, unit_price=900), row(quantity=1, price_at_add=250, unit_price=250)]
        ),
        SETTINGS,
    )
    assert cart.subtotal == 2950 and cart.item_count == 4
    assert cart.totals.shipping == 499 and cart.totals.total == 2950 + 499
    assert [i.price_changed for i in cart.items] == [True, False]


def test_max_quantity_is_the_least_of_stock_line_maximum_and_max_per_order() -> None:
    assert build_cart(CartRows([row(available_stock=500)]), SETTINGS).items[0].max_quantity == 99
    assert build_cart(CartRows([row(available_stock=500, max_per_order=4)]), SETTINGS).items[0].max_quantity == 4
    assert build_cart(CartRows([row(available_stock=1)]), SETTINGS).items[0].max_quantity == 1
    assert build_cart(CartRows([row(active=False)]), SETTINGS).items[0].max_quantity == 0


def test_wire_names_are_camel_case() -> None:
    dumped = build_cart(CartRows([row()]), SETTINGS).model_dump(by_alias=True)
    assert {"itemCount", "subtotal", "totals"} <= set(dumped)
    assert {"productId", "unitPrice", "priceAtAdd", "lineTotal", "maxQuantity"} <= set(dumped["items"][0])


def test_a_problem_named_by_sql_becomes_its_typed_error_with_a_readable_detail() -> None:
    problem = Problem.from_code("insufficient_stock", {"maxAvailable": 3, "inCart": 1})
    assert isinstance(problem, InsufficientStock) and problem.status == 409
    assert problem.body()["detail"] == "Only 3 available" and problem.body()["maxAvailable"] == 3
    assert Problem.from_code("no_such_code", {}).status == 500
