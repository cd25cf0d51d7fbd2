"""The journey's end in the storefront: a guest's cart becomes an order (the demo payment step on
the local bus), and an abandoned cart's recovery link brings its lines back in a fresh browser."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Stack
from tests.browser.test_sign_in import PASSWORD, sign_in
from tests.browser.test_storefront import add_from_product_page, line
from tests.conftest import User, one


def get_json(url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as reply:
        return json.load(reply)


def test_a_guest_signs_in_at_checkout_places_the_order_and_the_stock_is_taken(
    page: Page, site: Stack, own_product: Callable[..., dict[str, Any]]
) -> None:
    lamp = own_product(price=1500, stock=10)
    add_from_product_page(page, lamp["slug"], quantity=2)
    page.goto("/cart")
    page.get_by_test_id("checkout-button").click()
    expect(page).to_have_url(re.compile(r"/auth\?next=%2Fcheckout|/auth\?next=/checkout"))
    email = f"order-{uuid.uuid4().hex[:10]}@example.com"
    site.cognito.sign_up(email, PASSWORD)
    sign_in(page, email)

    reserved = page.get_by_test_id("checkout-confirmation")
    expect(reserved).to_be_visible()
    checkout_id = reserved.get_attribute("data-checkout-id")
    assert checkout_id
    page.get_by_test_id("place-order").click()

    confirmation = page.get_by_test_id("order-confirmation")
    expect(confirmation).to_be_visible()
    order_id = confirmation.get_attribute("data-order-id")
    assert order_id and uuid.UUID(order_id)
    expect(confirmation).to_contain_text(order_id)
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")

    with psycopg.connect(site.database_url) as conn:
        assert one(conn.execute("select stock from product where id = %s", (lamp["id"],)))[0] == 8
        status, recorded_order = one(
            conn.execute(
                "select c.status, k.order_id from checkout k join cart c on c.id = k.cart_id where k.id = %s",
                (checkout_id,),
            )
        )
    assert (status, recorded_order) == ("converted", order_id)
    page.goto("/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(0)
    completed = [
        event
        for event in get_json(f"{site.api_url}/dev/events")["events"]
        if event["detail-type"] == "CheckoutCompleted" and event["detail"].get("checkoutId") == checkout_id
    ]
    assert len(completed) == 1, completed
    assert completed[0]["detail"].get("orderId") == order_id


def place_order(page: Page, site: Stack) -> str:
    """From the cart: checkout, sign up and in as a new shopper, the demo payment; the order's id."""
    page.goto("/cart")
    page.get_by_test_id("checkout-button").click()
    email = f"order-{uuid.uuid4().hex[:10]}@example.com"
    site.cognito.sign_up(email, PASSWORD)
    sign_in(page, email)
    expect(page.get_by_test_id("checkout-confirmation")).to_be_visible()
    page.get_by_test_id("place-order").click()
    confirmation = page.get_by_test_id("order-confirmation")
    expect(confirmation).to_be_visible()
    order_id = confirmation.get_attribute("data-order-id")
    assert order_id
    return order_id


def test_buy_again_on_the_order_confirmation_puts_what_can_be_added_back_in_the_cart(
    page: Page, site: Stack, own_product: Callable[..., dict[str, Any]]
) -> None:
    lamp, shade = own_product(price=1500, stock=10), own_product(price=700, stock=5, name="Lamp shade")
    add_from_product_page(page, lamp["slug"], quantity=2)
    add_from_product_page(page, shade["slug"])
    order_id = place_order(page, site)
    expect(page.get_by_test_id("cart-badge")).to_have_text("0")
    with psycopg.connect(site.database_url, autocommit=True) as conn:  # the shade sold out since
        conn.execute("update product set stock = 0 where id = %s", (shade["id"],))

    page.get_by_test_id("buy-again").dblclick()  # a fast double click adds the lines once
    result = page.get_by_test_id("buy-again-result")
    expect(result).to_have_attribute("data-added", "2")
    skipped = page.get_by_test_id("buy-again-skipped")
    expect(skipped).to_have_attribute("data-code", "insufficient_stock")
    expect(skipped).to_contain_text("Lamp shade")
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    expect(page.get_by_test_id("buy-again")).to_be_disabled()

    page.get_by_test_id("buy-again-go-to-cart").click()
    expect(line(page, lamp["id"]).get_by_test_id("line-quantity")).to_have_value("2")
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    page.reload()  # the server's cart, not only the page's
    expect(line(page, lamp["id"]).get_by_test_id("line-quantity")).to_have_value("2")
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    with psycopg.connect(site.database_url) as conn:
        (status, quantity) = one(conn.execute(
            "select c.status, i.quantity from cart c join cart_item i on i.cart_id = c.id"
            " where c.user_id = (select c2.user_id from checkout k join cart c2 on c2.id = k.cart_id"
            " where k.order_id = %s) and c.status = 'active' and i.product_id = %s",
            (order_id, lamp["id"]),
        ))  # fmt: skip
    assert (status, quantity) == ("active", 2)


@pytest.fixture
def storefront_links(site: Stack, fresh_settings: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The API's recovery links open this storefront (``make dev`` sets STOREFRONT_URL the same way)."""
    monkeypatch.setenv("STOREFRONT_URL", site.storefront_url)
    return site.storefront_url


def test_an_abandoned_carts_recovery_link_brings_its_lines_back_in_a_fresh_browser(
    new_context: Callable[..., BrowserContext],
    site: Stack,
    admin: User,
    storefront_links: str,
    own_product: Callable[..., dict[str, Any]],
) -> None:
    lamp, shade = own_product(price=1500), own_product(price=700, name="Lamp shade")
    first = new_context().new_page()
    add_from_product_page(first, lamp["slug"], quantity=2)
    add_from_product_page(first, shade["slug"])
    token = next(c["value"] for c in first.context.cookies() if c["name"] == "sf_cart_session")
    first.context.close()  # the shopper leaves

    with psycopg.connect(site.database_url, autocommit=True) as conn:
        # what the sweep does after ABANDONED_AFTER_HOURS without activity (tests/integration covers the sweep)
        cart_id, abandoned_at = one(
            conn.execute(
                "update cart c set abandoned_at = now(), last_activity_at = now() - interval '2 days',"
                " abandoned_value = cart_value(c.id)::bigint,"
                " abandoned_items = (select jsonb_agg(jsonb_build_object('productId', i.product_id,"
                " 'variantId', i.variant_id, 'name', s.name, 'quantity', i.quantity, 'unitPrice', s.price))"
                " from cart_item i cross join lateral sellable(i.product_id, i.variant_id) s where i.cart_id = c.id)"
                " where session_id = %s and status = 'active' returning id::text, abandoned_at",
                (hashlib.sha256(token.encode()).hexdigest(),),
            )
        )
    query = urlencode({"since": abandoned_at.isoformat(), "limit": 200})
    listed = get_json(f"{site.api_url}/admin/carts/abandoned?{query}", admin.access_token)["carts"]
    url = next(cart["recoveryUrl"] for cart in listed if cart["id"] == cart_id)
    assert url.startswith(f"{storefront_links}/cart/recover?token=")

    page = new_context().new_page()  # a fresh browser: no cookie, no cart
    page.goto(url)
    recovered = page.get_by_test_id("recovered-cart")
    expect(recovered).to_have_attribute("data-cart-id", cart_id)
    expect(page.get_by_test_id("recovered-line")).to_have_text(
        [re.compile(r"^2 \u00d7 Desk lamp"), re.compile(r"^1 \u00d7 Lamp shade")]
    )
    page.get_by_test_id("recover-go-to-cart").click()
    expect(line(page, lamp["id"]).get_by_test_id("line-quantity")).to_have_value("2")
    expect(line(page, shade["id"])).to_have_count(1)
    expect(page.get_by_test_id("cart-badge")).to_have_text("3")

    page.reload()  # the same browser again: still its cart
    expect(line(page, lamp["id"])).to_have_count(1)
    page.goto(url)  # the link again, in the browser that used it: the cart, not an error
    expect(page.get_by_test_id("recovered-cart")).to_have_attribute("data-cart-id", cart_id)

    other = new_context().new_page()  # anyone else with the link gets a clear message and no cart
    other.goto(url)
    expect(other.get_by_test_id("recover-problem")).to_have_attribute("data-code", "recovery_link_used")
