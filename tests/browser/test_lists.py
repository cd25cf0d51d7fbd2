"""Lists and share links in the storefront (issue 23; docs/lists.md, docs/storefront.md): a cart line
moved to the Wishlist and back; a cart saved as a list and restored in a second browser after signing in
as the same user; a share link copied, opened in a fresh browser and added to that guest's cart, then
revoked; the new pages pass axe and never scroll sideways at 375 px. Every wait is on a data-testid."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import STOREFRONT, Stack
from tests.browser.test_accessibility import axe_violations, horizontal_overflow
from tests.browser.test_sign_in import PASSWORD, sign_in
from tests.browser.test_storefront import add_from_product_page, line, settled

ProductMaker = Callable[..., dict[str, Any]]


def list_item(page: Page, product_id: str):
    return page.locator(f'[data-testid="list-item"][data-product-id="{product_id}"]')


def shared_line(page: Page, product_id: str):
    return page.locator(f'[data-testid="shared-cart-line"][data-product-id="{product_id}"]')


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    """storefront/docs/<name>.png with UPDATE_SCREENSHOTS=1 (docs/storefront.md shows them), else the test's folder."""
    folder = STOREFRONT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def accessible(page: Page) -> None:
    expect(page.locator("main h1")).to_be_visible()
    assert axe_violations(page) == [], page.url
    assert horizontal_overflow(page) <= 0, page.url


def test_a_cart_line_moved_to_the_wishlist_and_back(page: Page, own_product: ProductMaker, tmp_path: Path) -> None:
    lamp, clock = own_product(name="Desk lamp"), own_product(name="Wall clock")
    add_from_product_page(page, lamp["slug"], quantity=2)
    add_from_product_page(page, clock["slug"])
    page.goto("/cart")
    # clicked twice fast: one move (the button waits for its answer), and no error
    line(page, lamp["id"]).get_by_test_id("wishlist-add").dblclick()
    expect(line(page, lamp["id"])).to_have_count(0)
    expect(page.get_by_test_id("toast")).to_have_text([re.compile(r"moved to your Wishlist")])
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    page.reload()  # the server's cart: the lamp is gone for good
    expect(page.get_by_test_id("cart-line")).to_have_count(1)

    page.get_by_test_id("nav-lists").click()
    expect(page.get_by_test_id("list-summary")).to_have_count(1)
    expect(page.get_by_test_id("list-summary")).to_contain_text("Wishlist")
    expect(page.get_by_test_id("list-summary")).to_contain_text("1 item")
    page.get_by_test_id("list-link").click()
    expect(page.get_by_test_id("list-name")).to_have_text("Wishlist")
    expect(list_item(page, lamp["id"]).get_by_test_id("list-item-quantity")).to_have_text("2")
    screenshot(page, "wishlist-1280", tmp_path)

    list_item(page, lamp["id"]).get_by_test_id("list-item-to-cart").click()
    expect(page.get_by_test_id("list-empty")).to_be_visible()
    expect(page.get_by_test_id("cart-badge")).to_have_text("3")
    page.goto("/cart")
    expect(line(page, lamp["id"]).get_by_test_id("line-quantity")).to_have_value("2")
    expect(page.get_by_test_id("cart-line")).to_have_count(2)


def test_a_cart_saved_as_a_list_is_restored_in_a_second_browser_after_sign_in(
    new_context: Callable[..., BrowserContext], site: Stack, own_product: ProductMaker
) -> None:
    lamp, clock = own_product(name="Desk lamp"), own_product(name="Wall clock")
    email = f"sf-{uuid.uuid4().hex[:10]}@example.com"
    site.cognito.sign_up(email, PASSWORD)

    first = new_context().new_page()
    first.goto("/auth")
    sign_in(first, email)
    expect(first).to_have_url(re.compile(r"/cart$"))
    add_from_product_page(first, lamp["slug"], quantity=2)
    add_from_product_page(first, clock["slug"])
    first.goto("/cart")
    first.get_by_test_id("save-cart-as").click()
    first.get_by_test_id("save-cart-as-name").fill("Party")
    first.get_by_test_id("save-cart-as-submit").click()
    expect(first.get_by_test_id("save-cart-as-done")).to_contain_text("Party")
    first.get_by_test_id("clear-cart").click()  # bought elsewhere: the cart is emptied, the list is kept
    expect(first.get_by_test_id("cart-badge")).to_have_text("0")
    settled(first)

    second = new_context(width=375, height=800).new_page()
    second.goto("/auth?next=/lists")
    sign_in(second, email)
    expect(second).to_have_url(re.compile(r"/lists$"))
    second.get_by_test_id("list-link").filter(has_text="Party").click()
    expect(second.get_by_test_id("list-name")).to_have_text("Party")
    expect(second.get_by_test_id("list-item")).to_have_count(2)
    accessible(second)
    second.get_by_test_id("list-restore").click()
    expect(second.get_by_test_id("added-report")).to_contain_text("2 of 2 items added to your cart.")
    expect(second.get_by_test_id("cart-badge")).to_have_text("3")
    expect(second.get_by_test_id("list-item")).to_have_count(2)  # the list is kept
    second.get_by_test_id("list-go-to-cart").click()
    expect(line(second, lamp["id"]).get_by_test_id("line-quantity")).to_have_value("2")
    expect(line(second, clock["id"]).get_by_test_id("line-quantity")).to_have_value("1")
    first.reload()  # the same user's first browser sees the restored cart
    expect(first.get_by_test_id("cart-line")).to_have_count(2)


def test_a_shared_cart_opened_in_a_fresh_browser_is_copied_into_that_guests_cart(
    new_context: Callable[..., BrowserContext], site: Stack, own_product: ProductMaker, tmp_path: Path
) -> None:
    lamp, clock = own_product(name="Desk lamp"), own_product(name="Wall clock")
    sharer = new_context(permissions=["clipboard-read", "clipboard-write"]).new_page()
    add_from_product_page(sharer, lamp["slug"], quantity=2)
    add_from_product_page(sharer, clock["slug"])
    sharer.goto("/cart")
    sharer.get_by_test_id("share-cart").click()
    url = sharer.get_by_test_id("share-link-url").input_value()
    assert url.startswith(f"{site.storefront_url}/shared/s1."), url
    sharer.get_by_test_id("share-link-copy").click()
    expect(sharer.get_by_text("Link copied.")).to_be_visible()
    assert sharer.evaluate("navigator.clipboard.readText()") == url
    assert horizontal_overflow(sharer) <= 0

    friend = new_context(width=375, height=800).new_page()  # a fresh browser: no session, no cart
    friend.goto(url)
    expect(friend.get_by_test_id("shared-cart-line")).to_have_count(2)
    expect(shared_line(friend, lamp["id"])).to_contain_text("2 \u00d7")
    expect(friend.get_by_test_id("cart-badge")).to_have_text("0")
    accessible(friend)
    screenshot(friend, "shared-cart-375", tmp_path)
    friend.get_by_test_id("shared-cart-copy").click()
    expect(friend.get_by_test_id("added-report")).to_contain_text("2 of 2 items added to your cart.")
    expect(friend.get_by_test_id("cart-badge")).to_have_text("3")
    friend.get_by_test_id("shared-cart-done").click()
    expect(line(friend, lamp["id"]).get_by_test_id("line-quantity")).to_have_value("2")
    friend.reload()  # the guest's own cart, kept by its session cookie
    expect(friend.get_by_test_id("cart-line")).to_have_count(2)
    expect(sharer.get_by_test_id("cart-badge")).to_have_text("3")  # the sharer's cart is the sharer's

    sharer.goto("/lists")  # the sharer stops sharing: the link says so at once
    expect(sharer.get_by_test_id("share-link")).to_have_count(1)
    sharer.get_by_test_id("share-revoke").click()
    expect(sharer.get_by_test_id("share-link")).to_have_count(0)
    friend.goto(url)
    expect(friend.get_by_test_id("shared-problem")).to_have_attribute("data-code", "share_link_revoked")
    expect(friend.get_by_test_id("shared-problem")).to_have_text(re.compile("stopped sharing"))


def test_a_damaged_link_says_so_and_offers_nothing_to_copy(page: Page) -> None:
    page.goto("/shared/s1.not-a-real-token")
    expect(page.get_by_test_id("shared-problem")).to_have_attribute("data-code", "share_link_invalid")
    expect(page.get_by_test_id("shared-cart-copy")).to_have_count(0)
    assert "sf_cart_session" not in {c["name"] for c in page.context.cookies()}  # reading a link starts no cart


@pytest.mark.parametrize("width", [375, 1280])
def test_the_list_pages_and_the_cart_controls_pass_axe_without_horizontal_scroll(
    new_context: Callable[..., BrowserContext], own_product: ProductMaker, width: int, tmp_path: Path
) -> None:
    lamp, clock = own_product(name="Desk lamp"), own_product(name="Wall clock")
    page = new_context(width=width, height=900).new_page()
    add_from_product_page(page, lamp["slug"], quantity=2)
    add_from_product_page(page, clock["slug"])
    page.goto("/cart")
    line(page, clock["id"]).get_by_test_id("wishlist-add").click()
    expect(line(page, clock["id"])).to_have_count(0)
    page.get_by_test_id("save-cart-as").click()
    page.get_by_test_id("save-cart-as-name").fill("A list with a rather long name for a small screen")
    page.get_by_test_id("save-cart-as-submit").click()
    expect(page.get_by_test_id("save-cart-as-done")).to_be_visible()
    page.get_by_test_id("share-cart").click()
    expect(page.get_by_test_id("share-link-url")).to_be_visible()
    accessible(page)  # the cart page with its new controls open

    page.goto("/lists")
    expect(page.get_by_test_id("list-summary")).to_have_count(2)
    accessible(page)
    if width == 375:
        screenshot(page, "lists-375", tmp_path)
    page.get_by_test_id("list-link").first.click()
    expect(page.get_by_test_id("list-item")).to_have_count(1)
    page.get_by_test_id("share-list").click()
    expect(page.get_by_test_id("share-link-url")).to_be_visible()
    accessible(page)
    page.goto(page.get_by_test_id("share-link-url").input_value())
    expect(page.get_by_test_id("shared-cart-line")).to_have_count(1)
    accessible(page)


def test_a_list_changed_in_another_tab_is_refreshed_instead_of_changed_blindly(
    new_context: Callable[..., BrowserContext], own_product: ProductMaker
) -> None:
    lamp, clock = own_product(name="Desk lamp"), own_product(name="Wall clock")
    context = new_context()
    first = context.new_page()
    add_from_product_page(first, lamp["slug"])
    add_from_product_page(first, clock["slug"])
    first.goto("/cart")
    first.get_by_test_id("save-cart-as").click()
    first.get_by_test_id("save-cart-as-name").fill("Two tabs")
    first.get_by_test_id("save-cart-as-submit").click()
    first.get_by_test_id("save-cart-as-done").get_by_role("link").click()
    expect(first.get_by_test_id("list-item")).to_have_count(2)

    second = context.new_page()  # the same shopper, another tab: removes the lamp
    second.goto(first.url)
    list_item(second, lamp["id"]).get_by_test_id("list-item-remove").click()
    expect(second.get_by_test_id("list-item")).to_have_count(1)

    # the first tab still shows two: its change names the version it saw, and is refused
    list_item(first, clock["id"]).get_by_test_id("list-item-to-cart").click()
    expect(first.get_by_test_id("list-error")).to_have_text(re.compile("changed in another window"))
    expect(first.get_by_test_id("list-item")).to_have_count(1)  # refreshed: the lamp is gone
    expect(list_item(first, clock["id"])).to_have_count(1)
    expect(first.get_by_test_id("cart-badge")).to_have_text("2")  # nothing moved


def test_a_guests_wishlist_is_the_shoppers_after_sign_in(page: Page, site: Stack, own_product: ProductMaker) -> None:
    lamp = own_product(name="Desk lamp")
    add_from_product_page(page, lamp["slug"], quantity=3)
    page.goto("/cart")
    line(page, lamp["id"]).get_by_test_id("wishlist-add").click()
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    email = f"sf-{uuid.uuid4().hex[:10]}@example.com"
    site.cognito.sign_up(email, PASSWORD)
    page.goto("/auth?next=/lists")
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/lists$"))
    expect(page.get_by_test_id("list-summary")).to_contain_text("Wishlist")
    page.get_by_test_id("list-link").click()
    expect(list_item(page, lamp["id"]).get_by_test_id("list-item-quantity")).to_have_text("3")
    assert "sf_cart_session" not in {c["name"] for c in page.context.cookies()}  # the guest session is spent
