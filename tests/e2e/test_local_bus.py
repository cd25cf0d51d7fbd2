"""The local EventBridge bus (local/bus.py): boto3's PutEvents against it as against AWS, ``/dev/events``,
delivery by the template's rules, and the whole loop in ``make dev`` (a checkout, the order service's
PaymentSucceeded on ``POST /dev/events``, the cart converted when the POST returns, CheckoutCompleted
listed)."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.bus import BusServer, LocalBus
from local.template import EventRule
from tests.conftest import MUG, MakeDev, free_port, serves


@pytest.fixture
def bus() -> Iterator[tuple[LocalBus, list[tuple[str, dict[str, Any]]]]]:
    """A bus of the test's own whose one rule's "function" records what it was given."""
    delivered: list[tuple[str, dict[str, Any]]] = []

    def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        delivered.append((function, event))
        return {}

    server = BusServer(LocalBus(invoke, [EventRule("Consumer", ("shop.orders",), ("PaymentSucceeded",))])).start()
    yield server.bus, delivered
    server.stop()


def _http(url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_boto3_puts_events_on_the_local_bus_which_delivers_by_rule_and_lists_them_oldest_first(
    bus: tuple[LocalBus, list[tuple[str, dict[str, Any]]]],
) -> None:
    local, delivered = bus
    client = boto3.client(
        "events", endpoint_url=local.endpoint, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip
    answer = client.put_events(
        Entries=[
            {
                "Source": "cart.api",
                "DetailType": "CheckoutStarted",
                "Detail": '{"checkoutId": "a"}',
                "EventBusName": "b",
            },
            {
                "Source": "shop.orders",
                "DetailType": "PaymentSucceeded",
                "Detail": '{"checkoutId": "a", "orderId": "o"}',
            },
            {"Source": "shop.orders", "DetailType": "PaymentSucceeded", "Detail": "[1, 2]"},  # not an object
        ]
    )
    assert answer["FailedEntryCount"] == 1
    assert [("EventId" in e, e.get("ErrorCode")) for e in answer["Entries"]] == [
        (True, None), (True, None), (False, "MalformedDetail"),
    ]  # fmt: skip
    assert [(f, e["detail-type"], e["detail"]) for f, e in delivered] == [
        ("Consumer", "PaymentSucceeded", {"checkoutId": "a", "orderId": "o"})
    ]
    status, listed = _http(f"{local.endpoint}/dev/events")
    assert status == 200
    assert [(e["source"], e["detail-type"]) for e in listed["events"]] == [
        ("cart.api", "CheckoutStarted"), ("shop.orders", "PaymentSucceeded"),
    ]  # fmt: skip
    assert set(listed["events"][0]) == {"source", "detail-type", "detail", "time"}


def test_dev_events_puts_one_event_and_refuses_anything_else(
    bus: tuple[LocalBus, list[tuple[str, dict[str, Any]]]],
) -> None:
    local, delivered = bus
    url = f"{local.endpoint}/dev/events"
    status, created = _http(url, {"source": "shop.orders", "detail-type": "PaymentSucceeded", "detail": {"x": 1}})
    assert status == 201 and created["id"] and len(delivered) == 1
    for bad in (
        {"source": "shop.orders", "detail-type": "PaymentSucceeded"},
        ["x"],
        {"source": 1, "detail-type": "x", "detail": {}},
    ):
        status, problem = _http(url, bad)
        assert status == 400 and problem["code"] == "bad_request", bad
    assert len(local.events) == 1


def test_make_dev_completes_a_checkout_when_the_order_service_says_it_was_paid(database_url: str) -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": database_url, "LOCAL_WORKERS": "2", "STOREFRONT_PORT": "0"}
    for key in (
        "AWS_ENDPOINT_URL_EVENTBRIDGE",
        "EVENT_BUS_NAME",
        "COGNITO_ISSUER",
        "COGNITO_JWKS_URL",
        "COGNITO_CLIENT_IDS",
    ):
        env.pop(key, None)  # make dev's own bus and Cognito, not the test run's
    server = MakeDev(env)
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_until(lambda: serves(f"{base}/dev/events"), "the local stack did not start", timeout_s=120)
        status, tokens = _http(f"{base}/dev/auth/login", {"email": "demo@example.com", "password": "Demo-password-1"})
        assert status == 200, tokens
        bearer = {"Authorization": f"Bearer {tokens['accessToken']}", "Content-Type": "application/json"}

        def call(method: str, path: str, body: Any = None) -> Any:
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(f"{base}{path}", data=data, headers=bearer, method=method)
            with urllib.request.urlopen(request, timeout=60) as reply:
                return json.load(reply)

        call("DELETE", "/cart")
        cart = call("POST", "/cart/items", {"productId": MUG, "quantity": 1})
        checkout_id = call("POST", "/cart/checkout")["checkoutId"]
        paid = {"source": "shop.orders", "detail-type": "PaymentSucceeded",
                "detail": {"checkoutId": checkout_id, "orderId": "order-make-dev"}}  # fmt: skip
        status, _ = _http(f"{base}/dev/events", paid)
        assert status == 201
        assert call("GET", "/cart")["id"] is None  # converted by the time the POST returned
        status, listed = _http(f"{base}/dev/events")
        kinds = [(e["detail-type"], e["detail"].get("checkoutId")) for e in listed["events"]]
        assert ("CheckoutStarted", checkout_id) in kinds and ("PaymentSucceeded", checkout_id) in kinds
        (completed,) = [e["detail"] for e in listed["events"] if e["detail-type"] == "CheckoutCompleted"]
        assert (completed["checkoutId"], completed["orderId"], completed["cartId"]) == (
            checkout_id, "order-make-dev", cart["id"],
        )  # fmt: skip
    finally:
        server.stop()
    assert (
        'curl -s -H \'content-type: application/json\' -d \'{"source":"shop.orders","detail-type":"PaymentSucceeded"'
        in server.printed
    )
    assert f"{base}/dev/events" in server.printed
