"""/cart in Debian's Chromium: stepper, remove, save for later and restore, clear, the stock clamp,
discount codes and the free-shipping bar, two tabs, a failing API, offline edits, CORS."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import psycopg
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Stack
from tests.browser.test_storefront import MUG_SLUG, POSTER_SLUG, add_from_product_page, line, settled
from tests.conftest import MUG, POSTER


def api_cart(site: Stack, context: BrowserContext) -> dict[str, Any]:
    """The cart the API holds for this browser's guest (its token from the storefront's cookie)."""
    token = next(c["value"] for c in context.cookies() if c["name"] == "sf_cart_session")
    request = urllib.request.Request(f"{site.api_url}/cart", headers={"X-Cart-Session": token})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


def quantities(cart: dict[str, Any]) -> dict[str, int]:
    return {item["productId"]: item["quantity"] for item in cart["items"]}


def test_stepper_remove_save_restore_and_clear(page: Page, site: Stack) -> None:
    add_from_product_page(page, MUG_SLUG, quantity=2)
    add_from_product_page(page, POSTER_SLUG)
    page.goto("/cart")
    mug, poster = line(page, MUG), line(page, POSTER)

    mug.get_by_test_id("line-increment").click()
    expect(mug.get_by_test_id("line-quantity")).to_have_value("3")
    expect(page.get_by_test_id("cart-badge")).to_have_text("4")
    mug.get_by_test_id("line-decrement").click()
    expect(mug.get_by_test_id("line-quantity")).to_have_value("2")
    expect(page.get_by_test_id("totals-subtotal")).to_have_text("$50.00")

    poster.get_by_test_id("line-save").click()
    expect(page.get_by_test_id("saved-item")).to_have_count(1)
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    page.get_by_test_id("saved-restore").click()
    expect(page.get_by_test_id("saved-item")).to_have_count(0)
    expect(poster).to_have_count(1)
    expect(page.get_by_test_id("cart-badge")).to_have_text("3")

    mug.get_by_test_id("line-remove").click()
    expect(mug).to_have_count(0)
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    settled(page)
    assert quantities(api_cart(site, page.context)) == {POSTER: 1}

    page.get_by_test_id("clear-cart").click()
    expect(page.get_by_test_id("empty-cart")).to_be_visible()
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    settled(page)
    page.reload()
    expect(page.get_by_test_id("empty-cart")).to_be_visible()
    assert api_cart(site, page.context)["items"] == []


def test_a_quantity_above_the_stock_is_clamped_with_only_n_left(page: Page, site: Stack) -> None:
    add_from_product_page(page, POSTER_SLUG)  # 3 in stock
    page.goto("/cart")
    quantity = line(page, POSTER).get_by_test_id("line-quantity")
    quantity.fill("5")
    quantity.press("Enter")
    expect(line(page, POSTER).get_by_test_id("line-issue")).to_have_text("Only 3 left")
    expect(quantity).to_have_value("3")
    expect(page.get_by_test_id("cart-badge")).to_have_text("3")
    settled(page)
    assert quantities(api_cart(site, page.context)) == {POSTER: 3}


def test_an_out_of_stock_line_shows_its_issue_and_switches_to_an_in_stock_variant(
    page: Page, site: Stack, own_product
) -> None:
    shirt = own_product(name="Linen shirt", variants=[{"attributes": {"size": "S"}}, {"attributes": {"size": "L"}}])
    small, large = shirt["variants"]
    add_from_product_page(page, shirt["slug"], variant=small)
    with psycopg.connect(site.database_url, autocommit=True) as conn:
        conn.execute("update product_variant set stock = 0 where id = %s", (small,))
    page.goto("/cart")
    shirt_line = line(page, shirt["id"])
    expect(shirt_line.get_by_test_id("line-issue")).to_be_visible()
    shirt_line.locator(f'[data-testid="line-alternative"][data-variant-id="{large}"]').click()
    expect(shirt_line).to_have_attribute("data-variant-id", large)
    expect(shirt_line).to_contain_text("Size: L")
    expect(shirt_line.get_by_test_id("line-issue")).to_have_count(0)
    settled(page)
    assert [(i["variantId"], i["quantity"]) for i in api_cart(site, page.context)["items"]] == [(large, 1)]


def test_a_price_change_since_the_add_is_noted_on_the_line(page: Page, site: Stack, own_product) -> None:
    lamp = own_product(price=1500)
    add_from_product_page(page, lamp["slug"])
    with psycopg.connect(site.database_url, autocommit=True) as conn:
        conn.execute("update product set price = 1800 where id = %s", (lamp["id"],))
    page.goto("/cart")
    lamp_line = line(page, lamp["id"])
    expect(lamp_line).to_contain_text("$18.00 each")
    expect(lamp_line.get_by_test_id("line-issue")).to_have_text("Price went up: was $15.00, now $18.00")
    expect(page.get_by_test_id("totals-subtotal")).to_have_text("$18.00")  # totals use the current price


def test_discount_codes_and_the_free_shipping_progress(page: Page) -> None:
    add_from_product_page(page, MUG_SLUG, quantity=2)  # $25.00 of the $50.00 threshold
    page.goto("/cart")
    progress = page.get_by_test_id("free-shipping-progress")
    expect(progress).to_have_attribute("aria-valuenow", "50")
    expect(page.get_by_test_id("totals-shipping")).to_have_text("$4.99")
    expect(page.get_by_test_id("totals-tax")).to_have_text("Calculated at checkout")  # no TAX_RATES: tax 0

    code, apply, error = (
        page.get_by_test_id("discount-input"),
        page.get_by_test_id("discount-apply"),
        page.get_by_test_id("discount-error"),
    )
    code.fill("expired")
    apply.click()
    expect(error).to_have_text("That code has expired.")
    code.fill("NOPE-NOT-A-CODE")
    apply.click()
    expect(error).to_have_text("We don't recognise that code.")
    code.fill("big20")
    apply.click()
    expect(error).to_have_text("Spend at least $100.00 to use that code.")

    code.fill("welcome10")
    apply.click()
    expect(page.get_by_test_id("applied-code")).to_contain_text("WELCOME10")
    expect(error).to_have_count(0)
    expect(page.get_by_test_id("totals-discount")).to_have_text("\u2212$2.50")  # a minus sign
    expect(page.get_by_test_id("totals-total")).to_have_text("$27.49")  # 25.00 - 2.50 + 4.99

    page.goto(f"/products/{POSTER_SLUG}")
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("3")
    settled(page)
    page.goto("/cart")  # $50.00 - 10 % = $45.00: $5.00 short
    expect(progress).to_have_attribute("aria-valuenow", "90")
    line(page, MUG).get_by_test_id("line-increment").click()  # $62.50 - 10 % = $56.25: free
    expect(page.get_by_test_id("totals-shipping")).to_have_text("Free")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("totals-total")).to_have_text("$56.25")


def test_a_change_in_one_tab_shows_in_the_other_without_a_reload(page: Page) -> None:
    add_from_product_page(page, MUG_SLUG)
    page.goto("/cart")
    other = page.context.new_page()
    other.goto("/cart")
    expect(line(other, MUG).get_by_test_id("line-quantity")).to_have_value("1")

    line(page, MUG).get_by_test_id("line-increment").click()
    expect(line(other, MUG).get_by_test_id("line-quantity")).to_have_value("2")
    expect(other.get_by_test_id("cart-badge")).to_have_text("2")

    third = page.context.new_page()
    third.goto(f"/products/{POSTER_SLUG}")
    third.get_by_test_id("add-to-cart").click()
    expect(line(page, POSTER)).to_have_count(1)
    expect(line(other, POSTER)).to_have_count(1)
    expect(page.get_by_test_id("cart-badge")).to_have_text("3")


def test_without_broadcastchannel_the_storage_event_carries_the_cart_to_other_tabs(new_context) -> None:
    context = new_context()
    context.add_init_script("delete window.BroadcastChannel")
    page = context.new_page()
    add_from_product_page(page, MUG_SLUG)
    page.goto("/cart")
    other = context.new_page()
    other.goto("/cart")
    assert other.evaluate("typeof BroadcastChannel") == "undefined"
    line(page, MUG).get_by_test_id("line-increment").click()
    expect(line(other, MUG).get_by_test_id("line-quantity")).to_have_value("2")
    expect(other.get_by_test_id("cart-badge")).to_have_text("2")


def test_503s_are_retried_with_one_key_then_rolled_back_with_a_toast(page: Page, site: Stack) -> None:
    add_from_product_page(page, MUG_SLUG)
    page.goto("/cart")
    before = len(site.faults.seen("POST", "/cart/items"))
    site.faults.fail("POST", "/cart/items", times=2)  # the third attempt goes through
    page.goto(f"/products/{POSTER_SLUG}")
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    settled(page)
    page.goto("/cart")
    expect(line(page, POSTER)).to_have_count(1)
    keys = site.faults.seen("POST", "/cart/items")[before:]
    assert len(keys) == 3 and keys[0] and len(set(keys)) == 1, keys

    mug = line(page, MUG)
    path = f"/cart/items/{api_item_id(site, page, MUG)}"
    fault = site.faults.fail("PATCH", path, times=4)  # every attempt fails
    mug.get_by_test_id("line-increment").click()
    expect(page.get_by_test_id("toast")).to_contain_text("unavailable")
    expect(mug.get_by_test_id("line-quantity")).to_have_value("1")  # rolled back
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    settled(page)
    keys = site.faults.seen("PATCH", path)
    assert fault.remaining == 0 and len(keys) == 4 and len(set(keys)) == 1, keys
    assert quantities(api_cart(site, page.context)) == {MUG: 1, POSTER: 1}


def api_item_id(site: Stack, page: Page, product_id: str) -> str:
    return next(i["id"] for i in api_cart(site, page.context)["items"] if i["productId"] == product_id)


def test_offline_edits_queue_and_sync_on_reconnect(page: Page, site: Stack) -> None:
    add_from_product_page(page, MUG_SLUG)
    add_from_product_page(page, POSTER_SLUG)
    page.goto("/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    mug_path = f"/cart/items/{api_item_id(site, page, MUG)}"
    syncs, patches = len(site.faults.seen("POST", "/cart/sync")), len(site.faults.seen("PATCH", mug_path))

    page.context.set_offline(True)
    expect(page.get_by_test_id("offline-banner")).to_be_visible()
    mug = line(page, MUG)
    mug.get_by_test_id("line-increment").click()
    expect(mug.get_by_test_id("line-quantity")).to_have_value("2")
    mug.get_by_test_id("line-increment").click()
    expect(mug.get_by_test_id("line-quantity")).to_have_value("3")
    # One line's quantity changes fold into one change: "set to 3", kept in the journal.
    expect(page.get_by_test_id("offline-banner")).to_contain_text("1 waiting")
    journal = page.evaluate(
        "Object.keys(localStorage).filter((k) => k.startsWith('cart.journal.'))"
        ".map((k) => JSON.parse(localStorage.getItem(k)).intent)"
    )
    assert [(i["kind"], i["quantity"]) for i in journal] == [("update", 3)], journal
    assert quantities(api_cart(site, page.context)) == {MUG: 1, POSTER: 1}  # nothing reached the API

    page.context.set_offline(False)
    expect(page.get_by_test_id("offline-banner")).to_have_count(0)
    expect(page.get_by_test_id("cart-badge")).to_have_text("4")
    settled(page)
    page.wait_for_function("Object.keys(localStorage).every((k) => !k.startsWith('cart.journal.'))")
    shown = {
        el.get_attribute("data-product-id"): int(el.get_by_test_id("line-quantity").input_value())
        for el in page.get_by_test_id("cart-line").all()
    }
    assert quantities(api_cart(site, page.context)) == shown == {MUG: 3, POSTER: 1}
    # Sent as what the shopper did (one PATCH), never merged as quantities through POST /cart/sync.
    assert len(site.faults.seen("PATCH", mug_path)) == patches + 1
    assert len(site.faults.seen("POST", "/cart/sync")) == syncs


def test_an_offline_change_the_stock_cannot_hold_is_shown_as_a_conflict_after_the_sync(page: Page, site: Stack) -> None:
    add_from_product_page(page, POSTER_SLUG)  # 3 in stock
    page.goto("/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    page.context.set_offline(True)
    expect(page.get_by_test_id("offline-banner")).to_be_visible()
    quantity = line(page, POSTER).get_by_test_id("line-quantity")
    quantity.fill("5")
    quantity.press("Enter")
    expect(page.get_by_test_id("cart-badge")).to_have_text("5")
    page.context.set_offline(False)
    expect(page.get_by_test_id("sync-conflict")).to_have_text(
        "Art poster: you set 5, your cart now holds 3 (not enough in stock)."
    )
    expect(quantity).to_have_value("3")
    expect(page.get_by_test_id("cart-badge")).to_have_text("3")
    settled(page)  # the clamped quantity is shown before the API has confirmed it
    assert quantities(api_cart(site, page.context)) == {POSTER: 3}


def test_the_api_lets_the_storefront_origin_call_it_with_credentials(page: Page, site: Stack) -> None:
    page.goto("/")
    answer = page.evaluate(
        """async ([api, product]) => {
            const reply = await fetch(`${api}/cart/items`, {
                method: "POST", credentials: "include",
                headers: {"content-type": "application/json"},
                body: JSON.stringify({productId: product, quantity: 1}),
            });
            return {status: reply.status, session: reply.headers.get("x-cart-session"), etag: reply.headers.get("etag")};
        }""",
        [site.api_url, MUG],
    )
    assert answer["status"] == 200 and answer["session"] and answer["etag"] == '"1"', answer
