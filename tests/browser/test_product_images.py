"""The catalog's images and the cart's links to products, as a shopper meets them: product and cart images
load as real images (not the drawn fallback), sized before they arrive (no layout shift), lazily below the
fold and first on the product page; every cart line and saved item links to its product's page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.test_storefront import MUG_SLUG, TSHIRT_SLUG, add_from_product_page, line, settled
from tests.conftest import HOODIE, MUG, POSTER, SHOES, TSHIRT, TSHIRT_M_RED

DEMO_PRODUCTS = (HOODIE, MUG, POSTER, SHOES, TSHIRT)

# Sums every layout shift the page records, from its first paint (buffered), as CLS counts them (no input near).
LAYOUT_SHIFT = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
}).observe({ type: "layout-shift", buffered: true });
"""


def images_loaded(page: Page, scope: str) -> None:
    """Every real product image under ``scope`` has decoded (naturalWidth > 0), waited for on the page."""
    page.wait_for_function(
        """scope => {
            const images = [...document.querySelectorAll(scope + ' img[data-testid=product-image]')];
            return images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0);
        }""",
        arg=scope,
    )


def test_product_and_cart_images_load_sized_and_every_line_links_to_its_product(
    page: Page, own_product: Callable[..., dict[str, Any]]
) -> None:
    page.add_init_script(LAYOUT_SHIFT)
    # The catalog: every demo product shows its image, none the drawn fallback
    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    for product in DEMO_PRODUCTS:
        card = page.locator(f'[data-testid="product-card"][data-product-id="{product}"]')
        expect(card.get_by_test_id("product-image")).to_have_count(1)
        expect(card.get_by_test_id("product-image-fallback")).to_have_count(0)
    images_loaded(page, "[data-testid=product-card]:nth-child(-n+3)")  # the first row: eager
    expect(page.locator("[data-testid=product-card] img").last).to_have_attribute("loading", "lazy")

    # The product page's hero: fetched first, its box reserved before it arrives (no layout shift)
    page.goto(f"/products/{TSHIRT_SLUG}")
    hero = page.locator("main img[data-testid=product-image]")
    expect(hero).to_have_attribute("src", "/img/classic-t-shirt.webp")
    expect(hero).to_have_attribute("width", "448")
    expect(hero).to_have_attribute("fetchpriority", "high")
    expect(hero).not_to_have_attribute("loading", "lazy")
    images_loaded(page, "main")
    assert page.evaluate("document.querySelector('main img').naturalWidth") == 480
    assert page.evaluate("window.__cls") < 0.01

    # The cart: each line's image loads, lazily, and its name links to the product's page
    add_from_product_page(page, MUG_SLUG, quantity=2)
    add_from_product_page(page, TSHIRT_SLUG, variant=TSHIRT_M_RED)
    plain = own_product(name="Plain box")  # a product without an image keeps the drawn tile
    page.goto(f"/products/{plain['slug']}")
    expect(page.get_by_test_id("product-image-fallback")).to_have_attribute("aria-label", re.compile("Plain box"))
    page.get_by_test_id("add-to-cart").click()
    settled(page)
    page.goto("/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(3)
    images_loaded(page, "[data-testid=cart-line]")
    for product, slug in ((MUG, MUG_SLUG), (TSHIRT, TSHIRT_SLUG), (plain["id"], plain["slug"])):
        expect(line(page, product).get_by_test_id("line-link")).to_have_attribute("href", f"/products/{slug}")
    expect(line(page, MUG).get_by_test_id("product-image")).to_have_attribute("loading", "lazy")
    expect(line(page, plain["id"]).get_by_test_id("product-image")).to_have_count(0)
    expect(line(page, plain["id"]).get_by_test_id("product-image-fallback")).to_be_visible()
    assert page.evaluate("window.__cls") < 0.01
    # a saved item links to its product too
    line(page, MUG).get_by_test_id("line-save").click()
    saved = page.get_by_test_id("saved-item")
    expect(saved.get_by_test_id("line-link")).to_have_attribute("href", f"/products/{MUG_SLUG}")
    settled(page)
    line(page, TSHIRT, TSHIRT_M_RED).get_by_test_id("line-link").click()
    expect(page).to_have_url(re.compile(rf"/products/{TSHIRT_SLUG}$"))
    expect(page.locator("main h1")).to_have_text("Classic T-shirt")
