"""Another device changed the cart: a stale If-Match is 409 version_conflict, and the storefront
takes the server's cart and re-applies the shopper's change once; returning to a tab refreshes it."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack
from tests.browser.test_cart_page import api_cart, quantities
from tests.browser.test_storefront import MUG_SLUG, add_from_product_page, line, settled
from tests.conftest import MUG, POSTER


def add_elsewhere(site: Stack, page: Page, product_id: str) -> dict[str, Any]:
    """The same guest cart changed by another device (its token, straight to the API)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "sf_cart_session")
    request = urllib.request.Request(
        f"{site.api_url}/cart/items", method="POST", data=json.dumps({"productId": product_id}).encode(),
        headers={"X-Cart-Session": token, "content-type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


def test_a_stale_cart_is_replaced_and_the_change_applied_once(page: Page, site: Stack) -> None:
    add_from_product_page(page, MUG_SLUG)
    page.goto("/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    assert add_elsewhere(site, page, POSTER)["version"] == 2  # the page still shows version 1
    mug_id = next(i["id"] for i in api_cart(site, page.context)["items"] if i["productId"] == MUG)
    before = len(site.faults.seen("PATCH", f"/cart/items/{mug_id}"))

    line(page, MUG).get_by_test_id("line-increment").click()
    expect(line(page, POSTER)).to_have_count(1)  # the server's cart, taken from the 409
    expect(line(page, MUG).get_by_test_id("line-quantity")).to_have_value("2")  # and the change re-applied
    settled(page)
    assert quantities(api_cart(site, page.context)) == {MUG: 2, POSTER: 1}
    assert len(site.faults.seen("PATCH", f"/cart/items/{mug_id}")) == before + 2  # the 409, then the re-applied change
    expect(page.get_by_test_id("toast")).to_have_count(0)


def test_returning_to_a_tab_refreshes_the_cart(page: Page, site: Stack) -> None:
    add_from_product_page(page, MUG_SLUG)
    page.goto("/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    add_elsewhere(site, page, POSTER)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # the tab is shown again
    expect(line(page, POSTER)).to_have_count(1)
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
