"""The cart's client engine in Debian's Chromium, as a shopper uses it over a week: a page left
while a change is on its way (the journal replays it, exactly once), offline removals and
decreases that stick, a conflicting edit from another device resolved by the shopper, quick
stepper clicks coalesced into one request, and another device's change shown by polling."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Stack
from tests.browser.test_accessibility import axe_violations, horizontal_overflow
from tests.browser.test_cart_page import api_cart, api_item_id, quantities
from tests.browser.test_conflicts import add_elsewhere
from tests.browser.test_storefront import MUG_SLUG, POSTER_SLUG, add_from_product_page, line, settled
from tests.conftest import MUG, POSTER

JOURNAL = "Object.keys(localStorage).filter((k) => k.startsWith('cart.journal.')).length"
# The journal holds one change, recorded as sent (its If-Match is set just before the request leaves).
SENT = (
    "Object.keys(localStorage).filter((k) => k.startsWith('cart.journal.'))"
    ".map((k) => JSON.parse(localStorage.getItem(k))).filter((e) => e.ifMatch !== null).length === 1"
)


def journal_empty(page: Page) -> None:
    page.wait_for_function(f"{JOURNAL} === 0")


def quantity_of(page: Page, product_id: str):
    return line(page, product_id).get_by_test_id("line-quantity")


def test_an_add_followed_at_once_by_a_reload_is_in_the_cart_exactly_once(page: Page, site: Stack) -> None:
    # Given a new visitor on a product page, and an API whose answer to the add is slow to come back
    page.goto(f"/products/{MUG_SLUG}")
    before = len(site.faults.seen("POST", "/cart/items"))
    site.faults.slow("POST", "/cart/items", times=1, seconds=3)
    # When they add and reload before the answer arrives
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    page.wait_for_function(f"{JOURNAL} === 1")  # recorded before it was sent
    page.reload()
    # Then the next page replays it with the same key, and the cart holds it once
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    settled(page)
    journal_empty(page)
    page.goto("/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(quantity_of(page, MUG)).to_have_value("1")
    assert quantities(api_cart(site, page.context)) == {MUG: 1}
    keys = site.faults.seen("POST", "/cart/items")[before:]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys


def test_an_add_followed_at_once_by_a_typed_url_is_in_the_cart_exactly_once(page: Page, site: Stack) -> None:
    # Given a guest with a cart, and an API that makes the next add but is slow to answer it
    add_from_product_page(page, MUG_SLUG)
    page.goto(f"/products/{POSTER_SLUG}")
    before = len(site.faults.seen("POST", "/cart/items"))
    site.faults.slow("POST", "/cart/items", times=1, seconds=3)
    # When they add and type /cart at once
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    page.goto("/cart")
    # Then the add the API made is shown once: the replay is answered from the key's stored response
    expect(quantity_of(page, POSTER)).to_have_value("1")
    settled(page)
    journal_empty(page)
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    page.reload()
    expect(quantity_of(page, POSTER)).to_have_value("1")
    assert quantities(api_cart(site, page.context)) == {MUG: 1, POSTER: 1}
    keys = site.faults.seen("POST", "/cart/items")[before:]
    assert len(keys) == 2 and keys[0] == keys[1], keys


def test_the_same_journal_replayed_by_two_pages_applies_once(page: Page, site: Stack) -> None:
    # Given a guest's cart, and a journal entry a closed tab left behind (an add of one poster)
    add_from_product_page(page, MUG_SLUG)
    key = "replayed-twice-" + page.evaluate("crypto.randomUUID()")
    entry = {
        "id": key, "key": key, "line": None, "base": None, "ifMatch": None, "offline": False,
        "owner": "g:", "tab": "a-closed-tab", "at": page.evaluate("Date.now()"), "seq": 0,
        "intent": {
            "kind": "add", "productId": POSTER, "variantId": None, "quantity": 1,
            "preview": {"name": "Art poster", "unitPrice": 2500, "attributes": {}},
        },
    }  # fmt: skip
    seed = f"localStorage.setItem('cart.journal.{key}', {json.dumps(json.dumps(entry))})"
    # When one page replays it, and then another page finds the same entry again (as a second tab
    # holding a copy of the journal would)
    page.evaluate(seed)
    page.goto("/cart")
    expect(quantity_of(page, POSTER)).to_have_value("1")
    settled(page)
    journal_empty(page)
    other = page.context.new_page()
    other.goto("/")
    other.evaluate(seed)
    other.reload()
    settled(other)
    journal_empty(other)
    # Then the API applied it once (both pages may send it: localStorage reaches the first page's
    # copy of the journal a moment later, so it can replay the second seed too; same key, no effect)
    assert site.faults.seen("POST", "/cart/items").count(key) >= 2
    assert quantities(api_cart(site, page.context)) == {MUG: 1, POSTER: 1}
    expect(quantity_of(page, POSTER)).to_have_value("1")


def test_an_offline_decrease_and_removal_are_kept_after_reconnecting(page: Page, site: Stack) -> None:
    # Given a cart of three mugs and a poster
    add_from_product_page(page, MUG_SLUG, quantity=3)
    add_from_product_page(page, POSTER_SLUG)
    page.goto("/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    syncs = len(site.faults.seen("POST", "/cart/sync"))
    # When, offline, the shopper lowers the mugs to 2 and removes the poster
    page.context.set_offline(True)
    expect(page.get_by_test_id("offline-banner")).to_be_visible()
    line(page, MUG).get_by_test_id("line-decrement").click()
    expect(quantity_of(page, MUG)).to_have_value("2")
    line(page, POSTER).get_by_test_id("line-remove").click()
    expect(line(page, POSTER)).to_have_count(0)
    expect(page.get_by_test_id("offline-banner")).to_contain_text("2 waiting")
    assert quantities(api_cart(site, page.context)) == {MUG: 3, POSTER: 1}  # nothing reached the API
    page.context.set_offline(False)
    # Then both stick: sent as what the shopper did, not merged back by a sync
    expect(page.get_by_test_id("offline-banner")).to_have_count(0)
    settled(page)
    journal_empty(page)
    assert quantities(api_cart(site, page.context)) == {MUG: 2}
    page.reload()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(quantity_of(page, MUG)).to_have_value("2")
    expect(page.get_by_test_id("sync-conflict")).to_have_count(0)
    assert len(site.faults.seen("POST", "/cart/sync")) == syncs


@pytest.mark.parametrize(("choice", "kept"), [("mine", 1), ("theirs", 5)])
def test_a_line_changed_on_another_device_while_offline_is_a_conflict_the_shopper_resolves(
    page: Page, site: Stack, new_context: Callable[..., BrowserContext], choice: str, kept: int
) -> None:
    # Given the same guest's cart open in two browsers
    add_from_product_page(page, MUG_SLUG, quantity=2)
    page.goto("/cart")
    expect(quantity_of(page, MUG)).to_have_value("2")
    other = new_context(storage_state=page.context.storage_state()).new_page()
    other.goto("/cart")
    expect(quantity_of(other, MUG)).to_have_value("2")
    # When the first, offline, lowers the mugs to 1 while the second sets them to 5
    page.context.set_offline(True)
    expect(page.get_by_test_id("offline-banner")).to_be_visible()
    line(page, MUG).get_by_test_id("line-decrement").click()
    expect(quantity_of(page, MUG)).to_have_value("1")
    typed = quantity_of(other, MUG)
    typed.fill("5")
    typed.press("Enter")
    settled(other)
    assert quantities(api_cart(site, other.context)) == {MUG: 5}
    page.context.set_offline(False)
    # Then the first shows the conflict instead of undoing either change
    conflict = page.get_by_test_id("sync-conflict")
    expect(conflict).to_contain_text("Coffee mug: you set 1, the other device now has 5.")
    expect(quantity_of(page, MUG)).to_have_value("5")  # nothing sent yet
    assert quantities(api_cart(site, page.context)) == {MUG: 5}
    page.set_viewport_size({"width": 375, "height": 800})
    assert axe_violations(page) == [] and horizontal_overflow(page) == 0
    # And each choice does what it says
    conflict.get_by_test_id(f"conflict-keep-{choice}").click()
    expect(conflict).to_have_count(0)
    expect(quantity_of(page, MUG)).to_have_value(str(kept))
    settled(page)
    journal_empty(page)
    assert quantities(api_cart(site, page.context)) == {MUG: kept}
    page.reload()
    expect(quantity_of(page, MUG)).to_have_value(str(kept))
    expect(page.get_by_test_id("sync-conflict")).to_have_count(0)


def test_five_quick_stepper_clicks_are_one_or_two_requests_and_the_last_quantity(page: Page, site: Stack) -> None:
    # Given a line of one mug
    add_from_product_page(page, MUG_SLUG)
    page.goto("/cart")
    path = f"/cart/items/{api_item_id(site, page, MUG)}"
    before = len(site.faults.seen("PATCH", path))
    # When the shopper clicks + five times quickly
    increment = line(page, MUG).get_by_test_id("line-increment")
    for _ in range(5):
        increment.click()
    # Then each click shows at once, and the API gets one or two PATCHes ending at 6
    expect(quantity_of(page, MUG)).to_have_value("6")
    expect(page.get_by_test_id("cart-badge")).to_have_text("6")
    settled(page)
    patches = len(site.faults.seen("PATCH", path)) - before
    assert 1 <= patches <= 2, patches
    assert quantities(api_cart(site, page.context)) == {MUG: 6}
    page.reload()
    expect(quantity_of(page, MUG)).to_have_value("6")


def test_more_clicks_while_a_patch_is_on_its_way_follow_it_with_the_final_quantity(page: Page, site: Stack) -> None:
    # Given a line of one mug and an API slow to answer its next PATCH
    add_from_product_page(page, MUG_SLUG)
    page.goto("/cart")
    path = f"/cart/items/{api_item_id(site, page, MUG)}"
    before = len(site.faults.seen("PATCH", path))
    site.faults.slow("PATCH", path, times=1, seconds=1.5)
    increment = line(page, MUG).get_by_test_id("line-increment")
    # When the shopper clicks, waits for that PATCH to leave, then clicks twice more
    increment.click()
    page.wait_for_function(SENT)
    increment.click()
    increment.click()
    expect(quantity_of(page, MUG)).to_have_value("4")
    # Then a second PATCH follows the first with the quantity shown, and the cart ends there
    settled(page)
    assert len(site.faults.seen("PATCH", path)) - before == 2
    assert quantities(api_cart(site, page.context)) == {MUG: 4}
    expect(quantity_of(page, MUG)).to_have_value("4")


def test_a_change_on_another_device_shows_without_a_reload_within_the_polling_interval(page: Page, site: Stack) -> None:
    # Given a cart page open (polling every CART_POLL_INTERVAL_MS, 10 s by default)
    add_from_product_page(page, MUG_SLUG)
    page.goto("/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    version = api_cart(site, page.context)["version"]
    # When another device adds a poster
    add_elsewhere(site, page, POSTER)
    # Then it shows here without a reload or the tab being shown again, read with If-None-Match
    expect(line(page, POSTER)).to_have_count(1, timeout=15_000)
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    assert ("GET", "/cart", f'"{version}"') in site.faults.conditional
    # And the next change is read against the new version
    add_elsewhere(site, page, POSTER)
    expect(quantity_of(page, POSTER)).to_have_value("2", timeout=15_000)
    assert ("GET", "/cart", f'"{version + 1}"') in site.faults.conditional


def test_the_open_drawer_shows_another_devices_change_within_the_polling_interval(page: Page, site: Stack) -> None:
    # Given the drawer open on a product page (it opens on an add)
    add_from_product_page(page, MUG_SLUG)
    drawer = page.get_by_test_id("cart-drawer")
    expect(drawer).to_be_visible()
    # When another device adds a poster
    add_elsewhere(site, page, POSTER)
    # Then the drawer shows it without a reload
    expect(drawer.locator(f'[data-testid="cart-line"][data-product-id="{POSTER}"]')).to_have_count(1, timeout=15_000)
