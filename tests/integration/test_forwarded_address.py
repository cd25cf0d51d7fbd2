"""Trusted forwarders on real PostgreSQL: a storefront's server calls the API for all its shoppers
from one address, and names each shopper's own address (``X-Cart-Client-Address``) with its key
(``X-Cart-Forwarder-Key``), so the guest-carts bucket counts shoppers, not the storefront. Without
the key, with a wrong one, or with a value that is not an IP address, ``sourceIp`` counts as before:
never an error. The key comes from the environment or from a Secrets Manager secret (moto), and
never reaches a response or a log line."""

from __future__ import annotations

import importlib.util
import io
import ipaddress
import json
import random
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart_common.address import CLIENT_ADDRESS_HEADER, FORWARDER_KEY_HEADER, forwarder_keys
from local import stack
from tests.conftest import FORWARDER_KEY, MUG, ROOT, Reply, Shopper, http_event, routes
from tests.e2e.test_hostile_input import header_text
from tests.integration.test_cart_api import assert_problem
from tests.integration.test_rate_limits import limits, policies  # noqa: F401 - the limits fixture

_used: set[str] = set()


def fresh_ipv4() -> str:
    """An address of 198.18.0.0/15 (benchmarking) no other test of this run has used: each test's
    buckets start full."""
    while True:
        address = str(ipaddress.IPv4Address(0xC6120000 + random.getrandbits(17)))
        if address not in _used:
            _used.add(address)
            return address


def fresh_ipv6_prefix() -> str:
    """A /64 of 2001:db8::/32 (documentation) of this test's own, as ``2001:db8:xxxx:yyyy``."""
    bits = uuid.uuid4().int
    return f"2001:db8:{bits & 0xFFFF:x}:{(bits >> 16) & 0xFFFF:x}"


class Forwarded(Shopper):
    """A shopper behind the storefront: every call comes from the storefront's address
    (``source_ip``) with the forwarder's headers (``key`` and ``address``; None leaves one out)."""

    def __init__(self, address: str | None, *, key: str | None = FORWARDER_KEY, source_ip: str) -> None:
        super().__init__(source_ip=source_ip)
        self.forwarded = {
            name: value
            for name, value in ((FORWARDER_KEY_HEADER, key), (CLIENT_ADDRESS_HEADER, address))
            if value is not None
        }

    def call(self, method: str, route_path: str, **kwargs: Any) -> Reply:
        kwargs["headers"] = {**self.forwarded, **(kwargs.get("headers") or {})}
        return super().call(method, route_path, **kwargs)


def new_cart(shopper: Shopper) -> Reply:
    """The shopper's first add: it creates a guest cart, so it takes a guest-carts token."""
    return shopper.add(MUG)


def assert_new_cart(reply: Reply) -> None:
    assert reply.status == 200, reply
    assert "guest-carts" in policies(reply.headers["RateLimit"]), reply.headers


def assert_guest_carts_refused(reply: Reply) -> None:
    problem = assert_problem(reply, 429, "rate_limited")
    assert problem["policy"] == "guest-carts", problem


# --- only a change that creates a guest cart works the address out ------------------------------------


def test_only_a_change_that_may_create_a_guest_cart_works_out_the_client_address(limits, monkeypatch) -> None:  # noqa: F811
    limits(guest_carts=50, guest_carts_window_s=3600)
    from cart_common import api

    asked: list[str | None] = []
    real = api.client_address

    def counted(headers: Any, source_ip: str | None, settings: Any = None) -> str | None:
        asked.append(source_ip)
        return real(headers, source_ip, settings)

    monkeypatch.setattr(api, "client_address", counted)
    shopper = Forwarded(fresh_ipv4(), source_ip=fresh_ipv4())
    assert shopper.get().status == 200 and asked == []  # a first visit's read: no cart, no address
    assert_new_cart(new_cart(shopper))
    assert len(asked) == 1  # the add that created the cart
    item = shopper.get().json["items"][0]["id"]
    assert shopper.update(item, quantity=2).status == 200  # the cart exists: no guest-carts token
    assert shopper.get().status == 200 and shopper.call("POST", "/cart/validate").status == 200
    assert len(asked) == 1


# --- the forwarded address chooses the bucket --------------------------------------------------------


def test_shoppers_behind_one_storefront_get_a_bucket_per_forwarded_address(limits) -> None:  # noqa: F811
    # Given one new guest cart per address an hour, and a storefront at one address
    limits(guest_carts=1, guest_carts_window_s=3600)
    storefront, alice, bob = fresh_ipv4(), fresh_ipv4(), fresh_ipv4()
    # When two shoppers with their own addresses start carts through it, both get one
    assert_new_cart(new_cart(Forwarded(alice, source_ip=storefront)))
    assert_new_cart(new_cart(Forwarded(bob, source_ip=storefront)))
    # Then a second new guest from Alice's address is refused, and only it
    assert_guest_carts_refused(new_cart(Forwarded(alice, source_ip=storefront)))
    # The storefront's own address was never counted: a direct client there still gets a cart
    assert_new_cart(new_cart(Shopper(source_ip=storefront)))


def test_the_forwarded_address_is_counted_wherever_the_request_came_from(limits) -> None:  # noqa: F811
    limits(guest_carts=1, guest_carts_window_s=3600)
    shopper = fresh_ipv4()
    assert_new_cart(new_cart(Forwarded(shopper, source_ip=fresh_ipv4())))
    # One address, one bucket: through a second storefront, or straight to the API
    assert_guest_carts_refused(new_cart(Forwarded(shopper, source_ip=fresh_ipv4())))
    assert_guest_carts_refused(new_cart(Shopper(source_ip=shopper)))


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("{p}::1", "{p}:0:0:0:1", True),  # one address, two spellings
        ("{p}:0:0:0:1", "{P}:0000:0000:0000:0001", True),  # leading zeros, upper case
        ("{p}::1", "{p}:ffff:ffff:ffff:fffe", True),  # one /64: one subscriber
        ("{p}::1", "{q}::1", False),  # the next /64: another subscriber
        ("::ffff:{v4}", "{v4}", True),  # IPv4-mapped IPv6 is the IPv4 address
        ("{v4}", "{v4b}", False),
    ],
    ids=["spellings", "zeros-and-case", "same-64", "other-64", "ipv4-mapped", "ipv4"],
)
def test_forwarded_addresses_are_normalised_before_they_are_counted(
    limits,  # noqa: F811
    first: str,
    second: str,
    shared: bool,
) -> None:
    limits(guest_carts=1, guest_carts_window_s=3600)
    prefix, other = fresh_ipv6_prefix(), fresh_ipv6_prefix()
    padded = ":".join(part.rjust(4, "0").upper() for part in prefix.split(":"))
    names = {"p": prefix, "P": padded, "q": other, "v4": fresh_ipv4(), "v4b": fresh_ipv4()}
    storefront = fresh_ipv4()
    assert_new_cart(new_cart(Forwarded(first.format(**names), source_ip=storefront)))
    reply = new_cart(Forwarded(second.format(**names), source_ip=storefront))
    if shared:
        assert_guest_carts_refused(reply)
    else:
        assert_new_cart(reply)


def test_an_ipv6_source_address_is_counted_by_its_64_too(limits) -> None:  # noqa: F811
    limits(guest_carts=1, guest_carts_window_s=3600)
    prefix = fresh_ipv6_prefix()
    assert_new_cart(new_cart(Shopper(source_ip=f"{prefix}::a")))
    assert_guest_carts_refused(new_cart(Shopper(source_ip=f"{prefix}:1:2:3:4")))


# --- anything else: sourceIp counts, as for any client -------------------------------------------------

ANY_ADDRESS = "{fresh}"
FALLBACKS = {
    "no key": (None, ANY_ADDRESS),
    "a wrong key": ("not-the-forwarder-key-" + "x" * 30, ANY_ADDRESS),
    "the key cut short": (FORWARDER_KEY[:-1], ANY_ADDRESS),
    "the key and more": (FORWARDER_KEY + "x", ANY_ADDRESS),
    "the key in another case": (FORWARDER_KEY.swapcase(), ANY_ADDRESS),
    "an empty key": ("", ANY_ADDRESS),
    "no address": (FORWARDER_KEY, None),
    "an empty address": (FORWARDER_KEY, ""),
    "a host name": (FORWARDER_KEY, "shop.example.com"),
    "an address with a port": (FORWARDER_KEY, "{fresh}:443"),
    "a list of addresses": (FORWARDER_KEY, "{fresh}, {fresh}"),
    "a network": (FORWARDER_KEY, "{fresh}/32"),
    "leading zeros": (FORWARDER_KEY, "198.018.0.1"),
    "non-ASCII digits": (FORWARDER_KEY, "\u0661\u0669\u0668.\u0661\u0668.\u0660.\u0661"),
    "the key as the address": (FORWARDER_KEY, FORWARDER_KEY),
}


@pytest.mark.parametrize(("key", "address"), list(FALLBACKS.values()), ids=list(FALLBACKS))
def test_without_a_valid_key_and_address_the_source_address_counts(
    limits,  # noqa: F811
    key: str | None,
    address: str | None,
) -> None:
    # Given a storefront whose own address has already started its one new cart this hour
    limits(guest_carts=1, guest_carts_window_s=3600)
    storefront = fresh_ipv4()
    assert_new_cart(new_cart(Shopper(source_ip=storefront)))
    # When a request from it names an address without a valid key, or no valid address
    named = address.format(fresh=fresh_ipv4()) if address is not None else None
    reply = new_cart(Forwarded(named, key=key, source_ip=storefront))
    # Then the storefront's address counts (refused: no error, and no other bucket was used)
    assert_guest_carts_refused(reply)
    assert FORWARDER_KEY not in json.dumps(reply.json) + json.dumps(reply.headers)
    # While the same request with the key and a valid address gets its cart
    assert_new_cart(new_cart(Forwarded(fresh_ipv4(), source_ip=storefront)))


def test_an_api_without_forwarder_keys_trusts_no_forwarder(limits, monkeypatch) -> None:  # noqa: F811
    monkeypatch.delenv("TRUSTED_FORWARDER_KEYS")
    limits(guest_carts=1, guest_carts_window_s=3600)
    assert forwarder_keys() == ()
    storefront = fresh_ipv4()
    assert_new_cart(new_cart(Forwarded(fresh_ipv4(), source_ip=storefront)))
    assert_guest_carts_refused(new_cart(Forwarded(fresh_ipv4(), source_ip=storefront)))


def test_any_of_several_keys_is_trusted(limits, monkeypatch) -> None:  # noqa: F811
    """During a rotation by hand: ``TRUSTED_FORWARDER_KEYS=new,previous``."""
    new = "n" * 40
    monkeypatch.setenv("TRUSTED_FORWARDER_KEYS", f" {new} , {FORWARDER_KEY} ")
    limits(guest_carts=1, guest_carts_window_s=3600)
    storefront = fresh_ipv4()
    for key in (new, FORWARDER_KEY):
        assert_new_cart(new_cart(Forwarded(fresh_ipv4(), key=key, source_ip=storefront)))


def test_forwarder_keys_shorter_than_32_characters_are_refused(fresh_settings, monkeypatch) -> None:
    monkeypatch.setenv("TRUSTED_FORWARDER_KEYS", f"{FORWARDER_KEY},short")
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        forwarder_keys()


# --- the key from Secrets Manager -----------------------------------------------------------------


def test_the_key_comes_from_secrets_manager_and_survives_its_rotation(
    secretsmanager,
    limits,  # noqa: F811
    monkeypatch,
    clock,
) -> None:
    first, second = "1" * 48, "2" * 48
    arn = secretsmanager.create_secret(Name=f"forwarder-{uuid.uuid4().hex}", SecretString=first)["ARN"]
    monkeypatch.delenv("TRUSTED_FORWARDER_KEYS")
    monkeypatch.setenv("TRUSTED_FORWARDER_KEY_SECRET_ARN", arn)
    limits(guest_carts=1, guest_carts_window_s=3600)
    storefront, alice = fresh_ipv4(), fresh_ipv4()

    # The secret's key is trusted: a bucket per forwarded address
    assert_new_cart(new_cart(Forwarded(alice, key=first, source_ip=storefront)))
    assert_new_cart(new_cart(Forwarded(fresh_ipv4(), key=first, source_ip=storefront)))
    assert_guest_carts_refused(new_cart(Forwarded(alice, key=first, source_ip=storefront)))
    # A wrong key is not: the storefront's address counts
    assert_new_cart(new_cart(Forwarded(fresh_ipv4(), key="w" * 48, source_ip=storefront)))
    assert_guest_carts_refused(new_cart(Forwarded(fresh_ipv4(), key="w" * 48, source_ip=storefront)))

    # A rotation: the new key is accepted as soon as a storefront sends it (the keys are read again,
    # at most every 10 s), and the previous one until the next rotation
    secretsmanager.put_secret_value(SecretId=arn, SecretString=second)
    clock.offset += 11
    assert_new_cart(new_cart(Forwarded(fresh_ipv4(), key=second, source_ip=storefront)))
    assert_new_cart(new_cart(Forwarded(fresh_ipv4(), key=first, source_ip=storefront)))
    assert forwarder_keys() == (second.encode(), first.encode())


# --- hostile values of both headers ------------------------------------------------------------------

EXAMPLES = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
hostile_keys = st.one_of(
    header_text,
    st.just(FORWARDER_KEY),
    st.tuples(st.just(FORWARDER_KEY), header_text).map("".join),
    st.tuples(header_text, st.just(FORWARDER_KEY)).map("".join),
    st.just(f"{FORWARDER_KEY},{FORWARDER_KEY}"),
)
hostile_addresses = st.one_of(
    header_text,
    st.ip_addresses().map(str),
    st.tuples(st.ip_addresses().map(str), header_text).map("".join),
    st.ip_addresses(v=6).map(lambda a: a.exploded.upper()),
    st.tuples(st.ip_addresses(v=6).map(str), st.text(max_size=30)).map(lambda t: f"{t[0]}%{t[1]}"),
    st.just(FORWARDER_KEY),
)


@EXAMPLES
@given(
    key=hostile_keys,
    address=hostile_addresses,
    method_path=st.sampled_from([("POST", "/cart/items"), ("GET", "/cart")]),
)
def test_hostile_forwarder_headers_are_never_a_server_error_and_never_echo_the_key(
    key: str, address: str, method_path: tuple[str, str]
) -> None:
    method, path = method_path
    body = {"productId": MUG, "quantity": 1} if method == "POST" else None
    headers = {FORWARDER_KEY_HEADER: key, CLIENT_ADDRESS_HEADER: address}
    event = http_event(method, path, body=body, headers=headers, source_ip=fresh_ipv4())
    route = routes()[(method, path)]
    result = stack.load_function(route)(event, stack.LambdaContext(route.function, 10))
    assert result["statusCode"] < 500, result
    answered = json.dumps({k: v for k, v in result.items() if k != "body"}) + str(result.get("body"))
    assert FORWARDER_KEY not in answered


# --- the key never reaches a log ----------------------------------------------------------------------


def fresh_function(name: str, folder: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A function's module imported anew, as a new execution environment initialises it (under the
    environment the test set)."""
    unique = f"fn_fresh_{folder}_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(unique, ROOT / "functions" / folder / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[unique]
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = module.lambda_handler
    return handler


def test_the_key_is_never_logged_even_when_events_would_be(limits, monkeypatch) -> None:  # noqa: F811
    """POWERTOOLS_LOGGER_LOG_EVENT=true would log every event, headers and all: the functions turn
    event logging off in code, so neither the key nor the forwarded address is written, at DEBUG too."""
    from cart_common.api import logger

    limits(guest_carts=1, guest_carts_window_s=3600)
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    add_item = fresh_function("AddItemFunction", "add_item")
    captured = io.StringIO()
    handler = logger.registered_handler
    monkeypatch.setattr(handler, "stream", captured)
    level = logger.log_level
    logger.setLevel("DEBUG")
    storefront, shopper = fresh_ipv4(), fresh_ipv4()
    statuses = []
    try:
        for _ in range(2):  # a new cart, then the address's refusal
            event = http_event(
                "POST", "/cart/items", body={"productId": MUG, "quantity": 1},
                headers={FORWARDER_KEY_HEADER: FORWARDER_KEY, CLIENT_ADDRESS_HEADER: shopper}, source_ip=storefront,
            )  # fmt: skip
            statuses.append(add_item(event, stack.LambdaContext("AddItemFunction", 10))["statusCode"])
        logger.info("probe: the capture sees the function's logger")
    finally:
        logger.setLevel(level)
    written = captured.getvalue()
    assert statuses == [200, 429]
    assert "probe: the capture sees the function's logger" in written
    assert FORWARDER_KEY not in written and shopper not in written
