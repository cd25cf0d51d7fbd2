"""The storefront in Debian's Chromium: a guest's cart from the product page to /cart."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack
from tests.conftest import MUG, POSTER, TSHIRT, TSHIRT_L_RED, TSHIRT_M_RED

MUG_SLUG, POSTER_SLUG, TSHIRT_SLUG = "coffee-mug", "art-poster", "classic-t-shirt"


def add_from_product_page(page: Page, slug: str, *, quantity: int = 1, variant: str | None = None) -> None:
    page.goto(f"/products/{slug}")
    if variant:
        page.locator(f'[data-testid="variant-option"][data-variant-id="{variant}"]').check(force=True)
    if quantity != 1:
        page.get_by_test_id("product-quantity").fill(str(quantity))
    before = int(page.get_by_test_id("cart-badge").inner_text())
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text(str(before + quantity))
    settled(page)


def settled(page: Page) -> None:
    """Every change has its answer from the API (the badge says so), not only its optimistic view."""
    expect(page.get_by_test_id("cart-badge")).to_have_attribute("data-state", "saved")


def line(page: Page, product_id: str, variant_id: str | None = None):
    selector = f'[data-testid="cart-line"][data-product-id="{product_id}"]'
    if variant_id:
        selector += f'[data-variant-id="{variant_id}"]'
    return page.locator(selector)


def server_cart(page: Page) -> dict:
    """The cart as the API holds it now, read through the storefront's own server action route
    (a fresh page load renders it on the server)."""
    page.reload()
    lines = page.get_by_test_id("cart-line")
    return {
        (item.get_attribute("data-product-id"), item.get_attribute("data-variant-id") or None): int(
            item.get_by_test_id("line-quantity").input_value()
        )
        for item in lines.all()
    }


def test_catalog_lists_products_and_the_variant_picker_disables_out_of_stock_variants(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    expect(page.locator(f'[data-testid="product-card"][data-product-id="{MUG}"]')).to_contain_text("Coffee mug")
    page.locator(f'[data-testid="product-card"][data-product-id="{TSHIRT}"] a').click()
    expect(page).to_have_url(re.compile(r"/products/classic-t-shirt$"))
    expect(page.locator(f'[data-testid="variant-option"][data-variant-id="{TSHIRT_L_RED}"]')).to_be_disabled()
    expect(page.locator(f'[data-testid="variant-option"][data-variant-id="{TSHIRT_M_RED}"]')).to_be_enabled()


def test_a_guest_adds_to_the_cart_and_the_badge_and_the_cart_page_show_it(page: Page, site: Stack) -> None:
    page.goto("/")
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    add_from_product_page(page, MUG_SLUG, quantity=2)
    add_from_product_page(page, TSHIRT_SLUG, variant=TSHIRT_M_RED)
    page.goto("/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(line(page, MUG).get_by_test_id("line-quantity")).to_have_value("2")
    expect(line(page, TSHIRT, TSHIRT_M_RED)).to_contain_text("Size: M")
    expect(page.get_by_test_id("totals-subtotal")).to_have_text("$44.99")
    # The server render already holds the lines: no empty cart first.
    html = page.request.get("/cart").text()
    assert 'data-testid="cart-line"' in html and 'data-testid="empty-cart"' not in html
    # The guest token lives in the storefront's own HttpOnly cookie, not in page JavaScript.
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["sf_cart_session"]["httpOnly"]
    assert "sf_cart_session" not in page.evaluate("document.cookie")
    assert POSTER  # (the poster is the clamp test's)
