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
from tests.browser.test_storefront import add_from_product_page, line, settled
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


def test_a_price_rise_shows_up_on_the_line_is_accepted_once_for_every_device_and_checks_out(
    new_context: Callable[..., BrowserContext], site: Stack, own_product: Callable[..., dict[str, Any]]
) -> None:
    page = new_context().new_page()
    lamp, shade = own_product(price=1500), own_product(price=700, name="Lamp shade")
    email = signed_in(page, site)
    add_from_product_page(page, lamp["slug"])
    add_from_product_page(page, shade["slug"])
    reprice(site, lamp, 1800)  # the sale ends

    page.goto("/cart")

    issue = line(page, lamp["id"]).get_by_test_id("line-issue")
    expect(issue).to_have_attribute("data-direction", "up")
    expect(issue).to_have_text("Price went up: was $15.00, now $18.00")
    expect(issue.get_by_test_id("price-old")).to_have_text("$15.00")
    expect(issue.get_by_test_id("price-new")).to_have_text("$18.00")
    expect(line(page, shade["id"]).get_by_test_id("line-issue")).to_have_count(0)
    expect(page.get_by_test_id("totals-subtotal")).to_have_text("$25.00")  # the total uses the new price
    notice = page.get_by_test_id("price-change-notice")
    expect(notice).to_contain_text("A price has changed")
    expect(page.get_by_test_id("price-accept")).to_have_count(1)  # one control accepts them all

    page.get_by_test_id("price-accept").click()

    expect(notice).to_have_count(0)
    expect(issue).to_have_count(0)
    settled(page)
    assert price_at_add(site, lamp) == [1800]  # kept on the server
    page.reload()
    expect(line(page, lamp["id"])).to_be_visible()
    expect(page.get_by_test_id("price-change-notice")).to_have_count(0)
    expect(line(page, lamp["id"]).get_by_test_id("line-issue")).to_have_count(0)
    laptop = new_context(width=375, height=800).new_page()  # the same shopper on another device
    laptop.goto("/auth")
    sign_in(laptop, email)
    expect(line(laptop, lamp["id"])).to_be_visible()
    expect(laptop.get_by_test_id("price-change-notice")).to_have_count(0)

    page.get_by_test_id("checkout-button").click()
    reserved = page.get_by_test_id("checkout-confirmation")
    expect(reserved).to_contain_text("Total $29.99")  # 18 + 7, and 4.99 shipping
    expect(page.get_by_test_id("price-review")).to_have_count(0)  # checkout did not ask again
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("order-confirmation")).to_be_visible()


def test_a_price_drop_shows_down_and_a_price_that_moves_again_before_the_click_is_shown_not_accepted(
    page: Page, site: Stack, own_product: Callable[..., dict[str, Any]]
) -> None:
    lamp = own_product(price=1500)
    add_from_product_page(page, lamp["slug"])  # a guest's cart: accepting needs no sign-in
    reprice(site, lamp, 1200)  # a sale starts
    page.goto("/cart")
    issue = line(page, lamp["id"]).get_by_test_id("line-issue")
    expect(issue).to_have_attribute("data-direction", "down")
    expect(issue).to_have_text("Price dropped: was $15.00, now $12.00")

    reprice(site, lamp, 1100)  # and deepens while the page is open
    page.get_by_test_id("price-accept").click()

    expect(page.get_by_test_id("toast")).to_have_text(
        "A price changed again before you accepted it. Check the new price."
    )
    expect(issue).to_have_text("Price dropped: was $15.00, now $11.00")  # the cart as it is now
    assert price_at_add(site, lamp) == [1500]  # the $12.00 was not taken unseen
    page.get_by_test_id("price-accept").click()
    expect(page.get_by_test_id("price-change-notice")).to_have_count(0)
    settled(page)
    page.reload()
    expect(line(page, lamp["id"]).get_by_test_id("line-quantity")).to_have_value("1")
    expect(line(page, lamp["id"]).get_by_test_id("line-issue")).to_have_count(0)
    assert price_at_add(site, lamp) == [1100]
    assert len(site.faults.seen("POST", "/cart/prices/accept")) >= 2


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
    charged = {line["productId"]: line["unitPrice"] for line in completed[0]["lines"]}
    assert charged == {lamp["id"]: 1900, shade["id"]: 700}
    with psycopg.connect(site.database_url) as conn:
        assert one(conn.execute("select status from checkout where id = %s", (checkout_id,)))[0] == "completed"
