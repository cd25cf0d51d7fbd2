"""Guest → sign-up/sign-in on /auth (Cognito's own API, moto locally) → the guest cart merged into
the user's → checkout reserved; the same user in a second browser sees the same cart."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Stack
from tests.browser.test_storefront import add_from_product_page, line, settled

PASSWORD = "Correct-horse-9"


def api(site: Stack, method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{site.api_url}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.get_by_test_id("auth-email").fill(email)
    page.get_by_test_id("auth-password").fill(password)
    page.get_by_test_id("auth-submit").click()


def test_a_guest_checks_out_signs_up_and_gets_a_reservation_for_the_guest_cart(
    page: Page, site: Stack, own_product: Callable[..., dict[str, Any]]
) -> None:
    lamp = own_product(price=1500)
    add_from_product_page(page, lamp["slug"], quantity=2)
    page.goto("/cart")
    page.get_by_test_id("checkout-button").click()
    expect(page).to_have_url(re.compile(r"/auth\?next=%2Fcheckout|/auth\?next=/checkout"))

    email = f"sf-{uuid.uuid4().hex[:10]}@example.com"
    page.get_by_test_id("auth-mode-toggle").click()
    sign_in(page, email)
    page.get_by_test_id("auth-code").fill("123456")  # Cognito mails it; moto takes any code
    page.get_by_test_id("auth-submit").click()

    confirmation = page.get_by_test_id("checkout-confirmation")
    expect(confirmation).to_be_visible()
    expect(page).to_have_url(re.compile(r"/checkout$"))
    expect(page.get_by_test_id("merge-report")).to_have_text(
        "1 item from your guest cart was added."
    )  # a new user: adopted
    checkout_id = confirmation.get_attribute("data-checkout-id")
    assert checkout_id and uuid.UUID(checkout_id)
    expect(confirmation).to_contain_text(checkout_id)
    expect(page.get_by_test_id("checkout-line")).to_have_text([re.compile(rf"^2 \u00d7 {re.escape('Desk lamp')}")])
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["sf_access_token"]["httpOnly"] and "sf_cart_session" not in cookies  # the guest token is spent


def test_sign_in_merges_into_the_users_lines_and_a_second_browser_sees_the_same_cart(
    new_context: Callable[..., BrowserContext], site: Stack, own_product: Callable[..., dict[str, Any]]
) -> None:
    mine, guests, scarce = (
        own_product(name="Desk lamp"),
        own_product(name="Wall clock"),
        own_product(name="Vase", stock=2),
    )
    email = f"sf-{uuid.uuid4().hex[:10]}@example.com"
    site.cognito.sign_up(email, PASSWORD)
    token = site.cognito.sign_in(email, PASSWORD)["AccessToken"]
    api(site, "POST", "/cart/items", token, {"productId": mine["id"], "quantity": 1})  # the user's own line
    api(site, "POST", "/cart/items", token, {"productId": scarce["id"], "quantity": 1})

    page = new_context().new_page()
    add_from_product_page(page, mine["slug"], quantity=2)
    add_from_product_page(page, guests["slug"])
    add_from_product_page(page, scarce["slug"], quantity=2)  # 1 + 2 > 2 in stock: capped at sign-in
    page.goto("/cart")
    page.get_by_test_id("checkout-button").click()  # a guest's Checkout goes through /auth
    expect(page.get_by_test_id("auth-email")).to_be_visible()
    sign_in(page, email)
    expect(page.get_by_test_id("merge-report")).to_have_text(
        "3 items from your guest cart were added; 1 was capped at the stock left."
    )
    expect(page.get_by_test_id("checkout-confirmation")).to_be_visible()  # the merged cart, reserved
    expect(page.get_by_test_id("checkout-line")).to_have_count(3)
    expect(page.get_by_test_id("checkout-confirmation")).to_contain_text("3 \u00d7 Desk lamp")

    page.goto("/cart")
    expect(line(page, mine["id"]).get_by_test_id("line-quantity")).to_have_value("3")
    expect(line(page, guests["id"]).get_by_test_id("line-quantity")).to_have_value("1")
    expect(line(page, scarce["id"]).get_by_test_id("line-quantity")).to_have_value("2")
    expect(page.get_by_test_id("cart-badge")).to_have_text("6")

    second = new_context(width=375, height=800).new_page()
    second.goto("/auth")
    sign_in(second, email)
    expect(second).to_have_url(re.compile(r"/cart$"))
    expect(second.get_by_test_id("cart-line")).to_have_count(3)
    expect(line(second, mine["id"]).get_by_test_id("line-quantity")).to_have_value("3")
    expect(second.get_by_test_id("cart-badge")).to_have_text("6")

    line(second, guests["id"]).get_by_test_id(
        "line-remove"
    ).click()  # a change on the second device (and its reservation released)
    settled(second)
    page.reload()
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    assert {i["productId"] for i in api(site, "GET", "/cart", token)["items"]} == {mine["id"], scarce["id"]}


def test_a_refused_change_rolls_back_with_the_problems_detail(page: Page) -> None:
    page.goto("/products/members-tote-bag")  # demo catalog: sign-in only
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("toast")).to_be_visible()
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")  # the optimistic 1, rolled back
    settled(page)
    expect(page.get_by_test_id("toast")).to_have_text("Sign in to buy this item.")


def test_a_wrong_password_or_a_taken_email_is_said_plainly_and_signs_nobody_in(page: Page, site: Stack) -> None:
    email = f"sf-{uuid.uuid4().hex[:10]}@example.com"
    site.cognito.sign_up(email, PASSWORD)
    page.goto("/auth")
    sign_in(page, email, "Wrong-horse-9")
    expect(page.get_by_test_id("auth-error")).to_have_text("Incorrect email or password.")
    page.get_by_test_id("auth-mode-toggle").click()
    sign_in(page, email)
    expect(page.get_by_test_id("auth-error")).to_have_text(
        "An account with this email already exists. Sign in instead."
    )
    assert "sf_access_token" not in {c["name"] for c in page.context.cookies()}
    expect(page).to_have_url(re.compile(r"/auth$"))
