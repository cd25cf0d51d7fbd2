"""The slide-in cart (components/cart/cart-drawer.tsx) as a shopper meets it: it opens on an add and from the
badge, keeps the keyboard inside, closes on Esc, a click outside or a link followed, gives focus back to what
opened it, and holds every line control (axe and widths: test_accessibility.py)."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.test_storefront import MUG_SLUG, add_from_product_page, settled
from tests.conftest import MUG


def drawer(page: Page):
    return page.get_by_test_id("cart-drawer")


def drawer_line(page: Page, product_id: str):
    return drawer(page).locator(f'[data-testid="cart-line"][data-product-id="{product_id}"]')


def focus_inside_drawer(page: Page) -> None:
    expect(drawer(page).locator(":focus")).to_have_count(1)


def test_the_drawer_opens_on_add_holds_the_line_controls_and_closes_on_esc_with_focus_back(page: Page) -> None:
    # Given a product page
    page.goto(f"/products/{MUG_SLUG}")
    add = page.get_by_test_id("add-to-cart")
    # When the shopper adds the mug
    add.click()
    # Then the drawer slides in with the line (at once: the optimistic one), and the keyboard is inside it
    expect(drawer(page)).to_be_visible()
    expect(drawer(page).get_by_role("heading", name="Your cart")).to_be_visible()
    mug = drawer_line(page, MUG)
    expect(mug).to_have_count(1)
    focus_inside_drawer(page)
    settled(page)
    # and every line control works from inside it
    mug.get_by_test_id("line-increment").click()
    expect(mug.get_by_test_id("line-quantity")).to_have_value("2")
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    expect(page.get_by_test_id("drawer-subtotal")).to_have_text("$25.00")
    settled(page)
    mug.get_by_test_id("line-decrement").click()
    expect(mug.get_by_test_id("line-quantity")).to_have_value("1")
    settled(page)
    expect(mug.get_by_test_id("line-link")).to_have_attribute("href", f"/products/{MUG_SLUG}")
    for testid in ("line-quantity", "line-save", "line-remove"):
        expect(mug.get_by_test_id(testid)).to_be_enabled()
    # The focus trap: Tab and Shift+Tab go round the drawer, never out to the page behind it
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 14:
        page.keyboard.press(key)
        focus_inside_drawer(page)
    # When Esc is pressed, it closes and focus goes back to Add to cart
    page.keyboard.press("Escape")
    expect(drawer(page)).to_have_count(0)
    expect(add).to_be_focused()
    # Removing from the drawer leaves it open on its empty state
    add.click()
    expect(drawer(page)).to_be_visible()
    settled(page)
    drawer_line(page, MUG).get_by_test_id("line-remove").click()
    expect(page.get_by_test_id("drawer-empty")).to_be_visible()
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    settled(page)


def test_the_badge_opens_the_drawer_a_click_outside_closes_it_and_links_inside_lead_on(page: Page) -> None:
    add_from_product_page(page, MUG_SLUG)
    page.keyboard.press("Escape")
    expect(drawer(page)).to_have_count(0)
    # Given the catalog page, the badge is still a real link to /cart
    page.goto("/")
    badge = page.get_by_test_id("cart-link")
    expect(badge).to_have_attribute("href", "/cart")
    # When it is clicked, the drawer opens on this page instead
    page.get_by_test_id("cart-badge").click()
    expect(drawer(page)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(drawer_line(page, MUG)).to_have_count(1)
    # When the shopper clicks the page beside it, it closes and focus goes back to the badge
    box = drawer(page).bounding_box()
    assert box and box["x"] > 40
    page.mouse.click(box["x"] / 2, 400)
    expect(drawer(page)).to_have_count(0)
    expect(badge).to_be_focused()
    # A line's name leads to its product page, closing the drawer
    page.get_by_test_id("cart-badge").click()
    drawer_line(page, MUG).get_by_test_id("line-link").click()
    expect(page).to_have_url(re.compile(rf"/products/{MUG_SLUG}$"))
    expect(drawer(page)).to_have_count(0)
    # "View cart" leads to /cart, where the badge is a plain link again and no drawer doubles the page
    page.get_by_test_id("cart-badge").click()
    page.get_by_test_id("drawer-view-cart").click()
    expect(page).to_have_url(re.compile(r"/cart$"))
    expect(drawer(page)).to_have_count(0)
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    page.get_by_test_id("cart-badge").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(drawer(page)).to_have_count(0)
    # Checkout from the drawer: a guest signs in first
    page.goto("/")
    page.get_by_test_id("cart-badge").click()
    expect(page.get_by_test_id("drawer-checkout")).to_have_attribute("href", "/auth?next=/checkout")


def test_without_javascript_the_badge_is_a_link_to_the_cart(new_context: Callable[..., BrowserContext]) -> None:
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/")
    page.get_by_test_id("cart-badge").click()
    expect(page).to_have_url(re.compile(r"/cart$"))
    expect(page.locator("main h1")).to_have_text("Your cart")


def test_a_refused_add_shows_its_toast_inside_the_open_drawer(page: Page) -> None:
    page.goto("/products/members-tote-bag")  # demo catalog: sign-in only
    page.get_by_test_id("add-to-cart").click()
    # the page behind the drawer is inert, so the toast is in the drawer, where it can be read and dismissed
    toast = drawer(page).get_by_test_id("toast")
    expect(toast).to_have_text("Sign in to buy this item.")
    expect(page.get_by_test_id("drawer-empty")).to_be_visible()  # the optimistic line, rolled back
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_have_count(0)
    expect(drawer(page)).to_be_visible()
