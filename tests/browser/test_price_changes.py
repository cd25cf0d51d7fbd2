"""Changed prices in the storefront (issue 22): a line whose price moved since it was added shows the old
and the new price and which way it went, one control accepts them (on the cart page, and on a checkout
refused for them), the acceptance is kept on the server (a reload or another device does not ask again),
and checkout then goes on to the order."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Stack
from tests.browser.test_order_and_recovery import get_json
from tests.browser.test_sign_in import PASSWORD, sign_in
from tests.browser.test_storefront import add_from_product_page
from tests.conftest import one


def reprice(site: Stack, product: dict[str, Any], price: int) -> None:
    """What the admin API or a catalog sync does when a sale starts or ends (test-side SQL)."""
    with psycopg.connect(site.database_url, autocommit=True) as conn:
        conn.execute("update product set price = %s where id = %s", (price, product["id"]))


def signed_in(page: Page, site: Stack) -> str:
    email = f"price-{uuid.uuid4().hex[:10]}@example.com"
    site.cognito.sign_up(email, PASSWORD)
    page.goto("/auth")
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/cart$"))
    return email


def price_at_add(site: Stack, product: dict[str, Any]) -> list[int]:
    with psycopg.connect(site.database_url) as conn:
        rows = conn.execute(
            "select i.price_at_add from cart_item i where i.product_id = %s order by i.created_at", (product["id"],)
        ).fetchall()
    return [row[0] for row in rows]


def test_a_checkout_refused_for_a_price_change_shows_the_lines_and_proceeds_once_accepted(
    new_context: Callable[..., BrowserContext], site: Stack, own_product: Callable[..., dict[str, Any]]
) -> None:
    page = new_context().new_page()
    lamp, shade = own_product(price=1500), own_product(price=700, name="Lamp shade")
    signed_in(page, site)
    add_from_product_page(page, lamp["slug"])
    add_from_product_page(page, shade["slug"], quantity=2)
    page.goto("/cart")
    expect(page.get_by_test_id("totals-subtotal")).to_have_text("$29.00")
    reprice(site, lamp, 1800)  # the sale ends while the cart page is open

    page.get_by_test_id("checkout-button").click()

    review = page.get_by_test_id("price-review")
    expect(review).to_be_visible()
    changed = review.get_by_test_id("price-change")
    expect(changed).to_have_count(1)  # the shade's price did not move
    expect(changed).to_have_attribute("data-direction", "up")
    expect(changed).to_contain_text("Price went up")
    expect(changed.get_by_test_id("price-old")).to_have_text("$15.00")
    expect(changed.get_by_test_id("price-new")).to_have_text("$18.00")
    expect(review.get_by_test_id("price-review-total")).to_have_text("$36.99")  # 18 + 2 x 7, and 4.99 shipping
    expect(page.get_by_test_id("checkout-confirmation")).to_have_count(0)  # nothing reserved yet

    reprice(site, lamp, 1900)  # and moves again while the shopper reads
    review.get_by_test_id("price-accept").click()
    expect(page.get_by_test_id("price-review-note")).to_contain_text("changed again")
    expect(changed.get_by_test_id("price-old")).to_have_text("$15.00")
    expect(changed.get_by_test_id("price-new")).to_have_text("$19.00")
    expect(review.get_by_test_id("price-review-total")).to_have_text("$37.99")
    assert price_at_add(site, lamp) == [1500]  # the $18.00 the shopper never agreed to was not taken

    review.get_by_test_id("price-accept").click()

    reserved = page.get_by_test_id("checkout-confirmation")
    expect(reserved).to_be_visible()
    expect(reserved).to_contain_text("Total $37.99")
    checkout_id = reserved.get_attribute("data-checkout-id")
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("order-confirmation")).to_be_visible()
    assert price_at_add(site, lamp) == [1900]
    completed = [
        event["detail"]
        for event in get_json(f"{site.api_url}/dev/events")["events"]
        if event["detail-type"] == "CheckoutCompleted" and event["detail"].get("checkoutId") == checkout_id
    ]
    assert [(line["productId"], line["unitPrice"]) for line in completed[0]["lines"]] == [
        (lamp["id"], 1900), (shade["id"], 700),
    ]  # fmt: skip
    with psycopg.connect(site.database_url) as conn:
        assert one(conn.execute("select status from checkout where id = %s", (checkout_id,)))[0] == "completed"
