"""Every page at phone, tablet and desktop widths, and the cart drawer open over a product page: no serious
or critical axe-core violation, no horizontal scroll, and the order summary below the lines on a phone and
beside them on a desktop. Screenshots (/cart at 375 and 1280 px, the drawer at 375 and 1280, a product page
at 1280, /cart with changed prices at 1280) go to storefront/docs/ with UPDATE_SCREENSHOTS=1
(docs/storefront.md shows them), else to the
test's temporary folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import STOREFRONT, Stack
from tests.browser.test_price_changes import reprice
from tests.browser.test_storefront import MUG_SLUG, POSTER_SLUG, TSHIRT_SLUG, add_from_product_page, line, settled
from tests.conftest import TSHIRT_M_RED

AXE = STOREFRONT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = [375, 768, 1280]
PAGES = ["/", f"/products/{TSHIRT_SLUG}", "/cart", "/auth"]


def axe_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 3)}));
        }"""
    )
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in results if v["impact"] in ("serious", "critical")]


def horizontal_overflow(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def images_shown(page: Page) -> None:
    """Every product image on the page scrolled to (lazy ones load only then) and decoded: screenshots show them."""
    for image in page.locator("img[data-testid=product-image]:visible").all():
        image.scroll_into_view_if_needed()
    page.wait_for_function(
        "[...document.querySelectorAll('img[data-testid=product-image]')]"
        ".every(i => i.checkVisibility() ? i.complete && i.naturalWidth > 0 : true)"
    )
    page.evaluate("window.scrollTo(0, 0)")


def screenshot(page: Page, name: str, tmp_path: Path, *, full_page: bool = True) -> None:
    folder = STOREFRONT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot), full_page=full_page)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def shopper_state(browser, site, tmp_path_factory) -> Path:
    """A guest with a few lines and a saved item, so /cart shows everything it can."""
    context = browser.new_context(base_url=site.storefront_url)
    page = context.new_page()
    add_from_product_page(page, MUG_SLUG, quantity=2)
    add_from_product_page(page, TSHIRT_SLUG, variant=TSHIRT_M_RED)
    add_from_product_page(page, POSTER_SLUG)
    page.goto("/cart")
    page.locator('[data-testid="cart-line"]').last.get_by_test_id("line-save").click()
    expect(page.get_by_test_id("saved-item")).to_have_count(1)
    settled(page)
    state = tmp_path_factory.mktemp("state") / "guest.json"
    context.storage_state(path=str(state))
    context.close()
    return state


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe_without_horizontal_scroll(
    browser, site, shopper_state: Path, width: int, tmp_path: Path
) -> None:
    context = browser.new_context(
        base_url=site.storefront_url,
        viewport={"width": width, "height": 900},
        storage_state=str(shopper_state),
        reduced_motion="reduce",  # the drawer without its slide: screenshots of where it stops
    )
    try:
        page = context.new_page()
        for path in PAGES:
            page.goto(path)
            expect(page.locator("main h1")).to_be_visible()
            assert axe_violations(page) == [], (path, width)
            assert horizontal_overflow(page) <= 0, (path, width)

        page.goto("/cart")
        lines = page.locator("section[aria-labelledby=lines-heading] ul").first.bounding_box()
        summary = page.locator("aside[aria-labelledby=summary-heading]").bounding_box()
        assert lines and summary
        if width < 1024:
            assert summary["y"] >= lines["y"] + lines["height"], (width, lines, summary)  # below the lines
        else:
            assert summary["x"] >= lines["x"] + lines["width"] and abs(summary["y"] - lines["y"]) < 80  # beside them
        if width in (375, 1280):
            images_shown(page)
            screenshot(page, f"cart-{width}", tmp_path)

        # The drawer, open over a product page: the page behind is inert, the drawer itself must pass
        page.goto(f"/products/{TSHIRT_SLUG}")
        images_shown(page)
        if width == 1280:
            screenshot(page, "product-1280", tmp_path, full_page=False)
        page.get_by_test_id("cart-badge").click()
        drawer = page.get_by_test_id("cart-drawer")
        expect(drawer).to_be_visible()
        expect(drawer.get_by_test_id("cart-line")).to_have_count(2)
        assert axe_violations(page) == [], ("drawer", width)
        assert horizontal_overflow(page) <= 0, ("drawer", width)
        assert drawer.evaluate("d => d.scrollWidth - d.clientWidth") <= 0, ("drawer", width)
        box = drawer.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, ("drawer", width, box)
        if width in (375, 1280):
            images_shown(page)
            screenshot(page, f"drawer-{width}", tmp_path, full_page=False)
    finally:
        context.close()


def test_the_price_change_state_passes_axe_without_horizontal_scroll_and_accepts_by_keyboard(
    new_context: Callable[..., BrowserContext], site: Stack, own_product: Callable[..., Any], tmp_path: Path
) -> None:
    """The cart page while one line's price went up and another's down (issue 22's screenshot)."""
    lamp, shade = own_product(price=1500), own_product(price=700, name="Lamp shade")
    first = new_context().new_page()
    add_from_product_page(first, lamp["slug"])
    add_from_product_page(first, shade["slug"], quantity=2)
    reprice(site, lamp, 1800)
    reprice(site, shade, 550)
    state = tmp_path / "prices.json"
    first.context.storage_state(path=str(state))
    for width in WIDTHS:
        page = new_context(width=width, storage_state=str(state)).new_page()
        page.goto("/cart")
        expect(page.get_by_test_id("price-change-notice")).to_contain_text("2 prices have changed")
        expect(line(page, shade["id"]).get_by_test_id("line-issue")).to_have_attribute("data-direction", "down")
        assert axe_violations(page) == [], width
        assert horizontal_overflow(page) <= 0, width
        if width == 1280:
            images_shown(page)
            screenshot(page, "cart-price-change-1280", tmp_path)
    page.get_by_test_id("price-accept").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("price-change-notice")).to_have_count(0)
    expect(page.get_by_test_id("line-issue")).to_have_count(0)


def test_every_control_is_keyboard_operable(new_context: Callable[..., BrowserContext]) -> None:
    page = new_context().new_page()
    page.goto(f"/products/{MUG_SLUG}")
    page.get_by_test_id("add-to-cart").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    settled(page)
    page.goto("/cart")
    page.get_by_test_id("line-increment").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("line-quantity")).to_have_value("2")
    page.get_by_test_id("discount-input").focus()
    page.keyboard.type("welcome10")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("applied-code")).to_contain_text("WELCOME10")
