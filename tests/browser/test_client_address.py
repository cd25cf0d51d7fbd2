"""Shoppers behind the storefront are counted by their own addresses, not the storefront's.

Every browser here reaches the storefront from 127.0.0.1, so the test plays the storefront's
trusted hosting proxy: each browser profile sends the ``X-Forwarded-For`` that such a proxy would
pass on, ending with the address the proxy saw connect (what ``TRUSTED_PROXY_HOPS=1`` reads) and
starting with an address the shopper claims (a proxy keeps what the client sent and appends). The
storefront's server takes the proxy's entry and forwards it to the API with its forwarder key; the
API, over one connection address, keeps a guest-carts bucket per shopper.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from playwright.sync_api import BrowserContext, Page, expect

from cart_common.address import address_key, bucket_address
from tests.browser.conftest import Stack
from tests.browser.test_storefront import MUG_SLUG, POSTER_SLUG, add_from_product_page, settled
from tests.integration.test_forwarded_address import fresh_ipv4, fresh_ipv6_prefix
from tests.integration.test_rate_limits import limits  # noqa: F401 - the limits fixture


def behind_proxy(new_context: Callable[..., BrowserContext], claimed: str, seen: str) -> Page:
    """A shopper's browser whose requests reach the storefront through its proxy, which saw them
    come from ``seen`` (the shopper's own ``X-Forwarded-For`` said ``claimed``)."""
    return new_context(extra_http_headers={"X-Forwarded-For": f"{claimed}, {seen}"}).new_page()


def buckets(database_url: str, *addresses: str) -> dict[str, float]:
    """What the guest-carts buckets of ``addresses`` hold now (an address never counted: absent)."""
    keys = {f"guest-carts:{address_key(address)}": address for address in addresses}
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("select key, tokens from rate_bucket where key = any(%s)", (list(keys),)).fetchall()
    return {keys[key]: float(tokens) for key, tokens in rows}


def test_shoppers_with_their_own_addresses_each_get_a_cart_and_a_second_new_guest_from_one_is_refused(
    new_context: Callable[..., BrowserContext],
    site: Stack,
    limits,  # noqa: F811
) -> None:
    # Given one new guest cart per client address an hour
    limits(guest_carts=1, guest_carts_window_s=3600)
    alice, bob, spoofed, other_spoof = fresh_ipv4(), fresh_ipv4(), fresh_ipv4(), fresh_ipv4()

    # When two shoppers at their own addresses add to their carts through the storefront (both
    # claiming the same address in the header's spoofable, leftmost entry), each gets a cart
    pages = {shopper: behind_proxy(new_context, claimed=spoofed, seen=shopper) for shopper in (alice, bob)}
    for page in pages.values():
        add_from_product_page(page, MUG_SLUG)
        expect(page.get_by_test_id("cart-badge")).to_have_text("1")

    # Then a second new guest at Alice's address is refused, whatever it claims, with a sentence
    # a shopper reads, and no cart appears
    second = behind_proxy(new_context, claimed=other_spoof, seen=alice)
    second.goto(f"/products/{MUG_SLUG}")
    second.get_by_test_id("add-to-cart").click()
    expect(second.get_by_test_id("toast")).to_contain_text("Too many new carts were started from your network")
    expect(second.get_by_test_id("cart-badge")).to_have_text("0")
    settled(second)
    second.reload()
    expect(second.get_by_test_id("cart-badge")).to_have_text("0")

    # Alice, who already has a cart, goes on
    add_from_product_page(pages[alice], POSTER_SLUG)
    expect(pages[alice].get_by_test_id("cart-badge")).to_have_text("2")

    # A proxy that writes the port it saw the shopper's connection come from: the port is dropped
    carol, dave = fresh_ipv4(), fresh_ipv6_prefix()
    for entry in (f"{carol}:4711", f"[{dave}::1]:4711"):
        add_from_product_page(behind_proxy(new_context, claimed=spoofed, seen=entry), MUG_SLUG)

    # The proxy's entries were counted, the claimed ones never
    dave_64 = bucket_address(f"{dave}::1")  # 2001:db8:…::/64
    assert dave_64
    counted = buckets(site.database_url, alice, bob, carol, dave_64, spoofed, other_spoof)
    assert set(counted) == {alice, bob, carol, dave_64}, counted
    assert all(tokens < 1 for tokens in counted.values()), counted
