"""Sessions that last (issue 22, item 4), in Debian's Chromium: the storefront keeps Cognito's refresh
token in its own HttpOnly cookie and refreshes the access token on its server (src/proxy.ts before a
page renders, the server actions before calling the API), so a signed-in shopper outlives their
access token; a refresh token Cognito refuses, or a bearer the API refuses, sends them to
/auth?next=<path> with "Your session ended — sign in again", and back after signing in, with any
guest cart merged.

Tokens last LIFETIME_S seconds here (local/cognito.py's ``token_lifetime``; Cognito's least is 5
minutes). Outliving one means waiting for the clock: ``wait_for_clock`` waits on the page for a
known instant (every token issued before ``t`` is dead at ``t + LIFETIME_S``, and the API refuses it
``TOKEN_LEEWAY_S`` later), never a guessed sleep.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError
from playwright.sync_api import BrowserContext, Cookie, Page, expect

from cart_common.session import TOKEN_LEEWAY_S
from tests.browser.conftest import Stack
from tests.browser.test_sign_in import PASSWORD, api, sign_in
from tests.browser.test_storefront import add_from_product_page, line, settled

LIFETIME_S = 5
SESSION_ENDED = "Your session ended — sign in again."
REFRESH_DAYS = 30  # template.yaml's RefreshTokenValidity, the refresh cookie's lifetime


@pytest.fixture
def short_tokens(site: Stack) -> Iterator[None]:
    with site.cognito.token_lifetime(LIFETIME_S):
        yield


def cookies(context: BrowserContext) -> dict[str, Cookie]:
    return {c["name"]: c for c in context.cookies()}


def wait_for_clock(page: Page, epoch_s: float) -> None:
    """Until the clock (the machine's, which the storefront's server and the API share) reads ``epoch_s``."""
    page.wait_for_function("t => Date.now() / 1000 > t", arg=epoch_s, timeout=(epoch_s - time.time() + 15) * 1000)


def every_token_dead(page: Page, *, at_the_api: bool) -> None:
    """Past the lifetime of every token issued so far (and, ``at_the_api``, past the API's leeway too)."""
    wait_for_clock(page, time.time() + LIFETIME_S + (TOKEN_LEEWAY_S if at_the_api else 0) + 1)


def refused_by_the_api(site: Stack, token: str) -> bool:
    try:
        api(site, "GET", "/cart", token)
    except urllib.error.HTTPError as error:
        return error.code == 401 and json.load(error)["code"] == "invalid_token"
    return False


def signed_in_shopper(
    site: Stack, new_context: Callable[..., BrowserContext], next_path: str = "/cart"
) -> tuple[Page, str]:
    email = f"sf-{uuid.uuid4().hex[:10]}@example.com"
    site.cognito.sign_up(email, PASSWORD)
    page = new_context().new_page()
    page.goto(f"/auth?next={next_path}")
    sign_in(page, email)
    expect(page).to_have_url(re.compile(rf"{re.escape(next_path)}$"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page, email


def user_cart(site: Stack, email: str) -> dict[str, int]:
    """The user's own cart (keyed by their sub), as a fresh sign-in of theirs reads it."""
    token = site.cognito.sign_in(email, PASSWORD)["AccessToken"]
    return {i["productId"]: i["quantity"] for i in api(site, "GET", "/cart", token)["items"]}


def test_a_signed_in_shopper_keeps_their_session_and_cart_past_the_access_tokens_lifetime(
    new_context: Callable[..., BrowserContext],
    site: Stack,
    own_product: Callable[..., dict[str, Any]],
    short_tokens: None,
) -> None:
    lamp, vase = own_product(name="Desk lamp"), own_product(name="Vase")
    page, email = signed_in_shopper(site, new_context)

    jar = cookies(page.context)
    access = jwt.decode(jar["sf_access_token"]["value"], options={"verify_signature": False})
    assert access["exp"] - access["iat"] == LIFETIME_S
    refresh = jar["sf_refresh_token"]
    assert refresh["httpOnly"] and refresh["sameSite"] == "Lax" and refresh["path"] == "/"
    assert abs(refresh["expires"] - (time.time() + REFRESH_DAYS * 86400)) < 120
    assert all(jar[name]["httpOnly"] for name in ("sf_access_token", "sf_id_token", "sf_email"))

    add_from_product_page(page, lamp["slug"])
    page.goto(f"/products/{vase['slug']}")
    loaded_with = cookies(page.context)["sf_access_token"]["value"]

    # The page sits open past the token's lifetime: the API now refuses the token it was served with.
    every_token_dead(page, at_the_api=True)
    assert refused_by_the_api(site, loaded_with)
    page.get_by_test_id("add-to-cart").click()  # a server action: it refreshes before calling the API
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    settled(page)
    expect(page.get_by_test_id("toast")).to_have_count(0)
    assert user_cart(site, email) == {lamp["id"]: 1, vase["id"]: 1}  # their cart, not a new guest's
    jar = cookies(page.context)
    assert "sf_cart_session" not in jar
    assert jar["sf_access_token"]["value"] != loaded_with  # the action rewrote the cookie

    # A reload once that token has expired too: the proxy refreshes before the page renders.
    every_token_dead(page, at_the_api=True)
    page.goto("/cart")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(line(page, vase["id"]).get_by_test_id("line-quantity")).to_have_value("1")
    expect(page.get_by_test_id("cart-badge")).to_have_text("2")
    assert "sf_access_token" in cookies(page.context)  # set by the proxy's answer, after the old one expired


def test_a_revoked_refresh_token_sends_the_shopper_to_sign_in_and_back_with_their_cart_and_guest_adds(
    new_context: Callable[..., BrowserContext],
    site: Stack,
    own_product: Callable[..., dict[str, Any]],
    short_tokens: None,
) -> None:
    lamp, mug = own_product(name="Desk lamp"), own_product(name="Travel mug")
    page, email = signed_in_shopper(site, new_context)
    add_from_product_page(page, lamp["slug"])
    page.goto("/cart")
    expect(line(page, lamp["id"])).to_be_visible()

    site.cognito.sign_out_everywhere(email)  # e.g. "sign out of all devices", or an administrator
    every_token_dead(page, at_the_api=False)
    page.reload()
    expect(page).to_have_url(re.compile(r"/auth\?next=%2Fcart&reason=session_ended$"))
    expect(page.get_by_test_id("auth-session-ended")).to_have_text(SESSION_ENDED)
    assert not {"sf_access_token", "sf_refresh_token", "sf_email"} & cookies(page.context).keys()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()

    add_from_product_page(page, mug["slug"])  # meanwhile, as a guest
    assert "sf_cart_session" in cookies(page.context)
    page.go_back()  # the sign-in page they were sent to, which still returns to /cart
    expect(page.get_by_test_id("auth-session-ended")).to_be_visible()
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/cart$"))
    expect(page.get_by_test_id("merge-report")).to_have_text("1 item from your guest cart was added.")
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(line(page, lamp["id"]).get_by_test_id("line-quantity")).to_have_value("1")
    expect(line(page, mug["id"]).get_by_test_id("line-quantity")).to_have_value("1")
    assert user_cart(site, email) == {lamp["id"]: 1, mug["id"]: 1}


def test_a_change_after_the_session_ended_goes_to_sign_in_and_returns_to_the_same_page(
    new_context: Callable[..., BrowserContext],
    site: Stack,
    own_product: Callable[..., dict[str, Any]],
    short_tokens: None,
) -> None:
    lamp = own_product()
    page, email = signed_in_shopper(site, new_context)
    page.goto(f"/products/{lamp['slug']}")
    site.cognito.sign_out_everywhere(email)
    every_token_dead(page, at_the_api=False)

    page.get_by_test_id("add-to-cart").click()  # the action's refresh is refused: session_expired
    expect(page).to_have_url(re.compile(rf"/auth\?next=%2Fproducts%2F{lamp['slug']}&reason=session_ended$"))
    expect(page.get_by_test_id("auth-session-ended")).to_have_text(SESSION_ENDED)
    assert user_cart(site, email) == {}  # nothing was added to a guest cart or theirs unseen
    sign_in(page, email)
    expect(page).to_have_url(re.compile(rf"/products/{lamp['slug']}$"))
    # The add they made is not lost (the cart's journal kept it for this shopper): it is sent now, once.
    expect(page.get_by_test_id("cart-badge")).to_have_text("1")
    settled(page)
    page.wait_for_function("Object.keys(localStorage).every((k) => !k.startsWith('cart.journal.'))")
    assert user_cart(site, email) == {lamp["id"]: 1}


def test_a_bearer_the_api_refuses_ends_the_session_instead_of_showing_an_empty_cart(
    new_context: Callable[..., BrowserContext], site: Stack, own_product: Callable[..., dict[str, Any]]
) -> None:
    """A session without a refresh token (signed in before the storefront kept one) whose access
    token the API refuses (here: its signature altered): the API's 401 on a signed-in request is the
    same trip to /auth as a refused refresh."""
    lamp = own_product()
    context = new_context()
    header, payload, _ = site.cognito.sign_in(*_new_user(site))["AccessToken"].split(".")
    context.add_cookies(
        [{"name": "sf_access_token", "value": f"{header}.{payload}.AAAA", "url": site.storefront_url, "httpOnly": True}]
    )
    page = context.new_page()
    page.goto(f"/products/{lamp['slug']}")
    page.get_by_test_id("add-to-cart").click()
    expect(page).to_have_url(re.compile(r"/auth\?next=%2Fproducts%2F.*&reason=session_ended$"))
    expect(page.get_by_test_id("auth-session-ended")).to_have_text(SESSION_ENDED)
    expect(page.get_by_test_id("toast")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()  # the refused token's cookie is gone
    assert "sf_access_token" not in cookies(context)


def _new_user(site: Stack) -> tuple[str, str]:
    email = f"sf-{uuid.uuid4().hex[:10]}@example.com"
    site.cognito.sign_up(email, PASSWORD)
    return email, PASSWORD


@pytest.mark.parametrize(
    ("next_path", "resolved"),
    [
        ("/checkout", "/checkout"),
        ("/products/desk-lamp%3Fa%3D1", "/products/desk-lamp?a=1"),
        ("https://evil.example/cart", "/cart"),
        ("//evil.example/cart", "/cart"),
        ("/%5Cevil.example", "/cart"),  # /\evil.example: browsers read it as //evil.example
        ("/%09/evil.example", "/cart"),  # a tab, which URL parsers drop: //evil.example
        ("javascript:alert(1)", "/cart"),
        ("/auth%3Fnext%3D%2Fcart", "/cart"),  # back to sign-in: no
        ("", "/cart"),
    ],
)
def test_the_return_path_is_a_path_of_this_site(page: Page, next_path: str, resolved: str) -> None:
    page.goto(f"/auth?next={next_path}")
    expect(page.locator("form[data-next]")).to_have_attribute("data-next", resolved)


def test_signing_in_with_an_absolute_next_stays_on_the_site_and_signing_out_revokes_the_refresh_token(
    page: Page, site: Stack
) -> None:
    email, _ = _new_user(site)
    page.goto("/auth?next=https%3A%2F%2Fevil.example%2Fcart")
    sign_in(page, email)
    expect(page).to_have_url(f"{site.storefront_url}/cart")
    refresh = cookies(page.context)["sf_refresh_token"]["value"]
    assert site.cognito.refresh(refresh)["AccessToken"]
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert not {"sf_access_token", "sf_id_token", "sf_refresh_token", "sf_email"} & cookies(page.context).keys()
    with pytest.raises(ClientError) as refused:
        site.cognito.refresh(refresh)
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_parallel_page_requests_with_a_due_token_each_get_a_working_session(site: Stack) -> None:
    """Eight page requests at once from one browser whose access token is gone (only the refresh
    token's cookie): every one renders signed in and answers working tokens (the refreshes share one
    InitiateAuth or each make their own: with Cognito's default, non-rotating refresh tokens neither
    breaks the other), and the refresh token still works afterwards."""
    email, _ = _new_user(site)
    refresh = site.cognito.sign_in(email, PASSWORD)["RefreshToken"]

    def load(_: int) -> tuple[int, str, list[str]]:
        request = urllib.request.Request(
            f"{site.storefront_url}/cart", headers={"Cookie": f"sf_refresh_token={refresh}; sf_email={email}"}
        )
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.read().decode(), reply.headers.get_all("Set-Cookie") or []

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(load, range(8)))
    for status, html, set_cookies in answers:
        assert status == 200 and "Sign out" in html
        (access,) = [c.split(";")[0].split("=", 1)[1] for c in set_cookies if c.startswith("sf_access_token=")]
        assert api(site, "GET", "/cart", access)["items"] == []
        assert not any(c.startswith("sf_refresh_token=") for c in set_cookies)  # not rotated: the cookie stays
    assert site.cognito.refresh(refresh)["AccessToken"]
