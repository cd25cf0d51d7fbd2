"""``make dev`` serves the storefront beside the API: the storefront's origin may call the API
with credentials, a shopper can fill a cart there, and a demo administrator is printed whose token
opens the admin routes. Run with STOREFRONT_MODE=start over this run's ``next build``."""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_client_address import buckets
from tests.browser.test_storefront import MUG_SLUG, add_from_product_page
from tests.conftest import MUG, MakeDev, free_port, serves
from tests.integration.test_forwarded_address import fresh_ipv4


def call(url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode() if body is not None else None,
        headers={"content-type": "application/json", **(headers or {})}, method="POST" if body is not None else "GET",
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def make_dev(storefront_build: None, database_url: str):
    api_port, storefront_port = free_port(), free_port()
    # No Cognito settings (make dev starts its own) and no forwarder key (make dev makes one and gives
    # it to both the API and the storefront).
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNITO_") and "FORWARDER_KEY" not in k}
    env.update(
        PORT=str(api_port), STOREFRONT_PORT=str(storefront_port), STOREFRONT_MODE="start",
        DATABASE_URL=database_url, LOCAL_WORKERS="1",
    )  # fmt: skip
    server = MakeDev(env)
    storefront = f"http://127.0.0.1:{storefront_port}"
    try:
        server.wait_until(
            lambda: server.printed_line("Storefront:") and serves(f"{storefront}/auth"),
            "make dev did not serve the storefront",
            timeout_s=90,
        )
        yield f"http://127.0.0.1:{api_port}", storefront, server.output
    finally:
        server.stop()
    with pytest.raises(OSError):  # the storefront stopped with it
        socket.create_connection(("127.0.0.1", storefront_port), timeout=1).close()


def test_make_dev_serves_the_storefront_and_prints_a_demo_admin(make_dev, browser: Browser, database_url: str) -> None:
    api, storefront, output = make_dev
    printed = "".join(output)
    assert f"Storefront: {storefront}" in printed
    admin = re.search(r"^Demo admin: (\S+) / (\S+)", printed, re.MULTILINE)
    demo_user = re.search(r"^Demo user: (\S+) / (\S+)", printed, re.MULTILINE)
    assert admin and demo_user, printed
    admin_email, admin_password = admin.groups()
    user_email, user_password = demo_user.groups()

    status, tokens = call(f"{api}/dev/auth/login", {"email": admin_email, "password": admin_password})
    assert status == 200, tokens
    status, listing = call(f"{api}/admin/carts/abandoned", headers={"Authorization": f"Bearer {tokens['accessToken']}"})
    assert status == 200 and "carts" in listing, listing
    _, tokens = call(f"{api}/dev/auth/login", {"email": user_email, "password": user_password})
    status, problem = call(f"{api}/admin/carts/abandoned", headers={"Authorization": f"Bearer {tokens['accessToken']}"})
    assert status == 403, problem

    context = browser.new_context(base_url=storefront)
    try:
        page = context.new_page()
        add_from_product_page(page, MUG_SLUG, quantity=2)
        page.goto("/cart")
        expect(page.get_by_test_id("cart-line")).to_have_count(1)
        answer = page.evaluate(
            """async ([api, product]) => {
                const r = await fetch(`${api}/cart/items`, {method: "POST", credentials: "include",
                    headers: {"content-type": "application/json"}, body: JSON.stringify({productId: product})});
                return {status: r.status, session: r.headers.get("x-cart-session"), etag: r.headers.get("etag")};
            }""",
            [api, MUG],
        )
        assert answer["status"] == 200 and answer["session"] and answer["etag"], answer
    finally:
        context.close()

    # A shopper's address as a proxy in front of the storefront would pass it on: make dev's
    # storefront forwards it with the key make dev gave both, so the API counts the new cart there.
    shopper_address = fresh_ipv4()
    context = browser.new_context(base_url=storefront, extra_http_headers={"X-Forwarded-For": shopper_address})
    try:
        add_from_product_page(context.new_page(), MUG_SLUG)
    finally:
        context.close()
    assert buckets(database_url, shopper_address), "the new cart was not counted at the shopper's address"
