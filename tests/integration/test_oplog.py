"""The operations log (issue 19, item 5; docs/operations.md): real operations against the real
database, the JSON lines the functions wrote read back as CloudWatch would get them, field by field.

- one ``operation`` line per request: the operation, the hashed owner, the cart and the versions it
  moved between (held against the versions independent reads saw), the outcome or the problem's
  code, a replayed Idempotency-Key marked, round trips (held against libpq's protocol trace),
  the API Gateway request id as correlation id;
- ``stock_refused`` lines naming the product, ``sync_conflict`` lines, ``merge`` lines from the
  route, the lazy path and the sign-in trigger, and a ``reconnect`` line when the server ended the
  session;
- no token, sub, email or address in clear in any of them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow

from cart_common.oplog import owner_id
from cart_common.session import hash_token
from local import stack, template
from tests.conftest import MUG, POSTER, Lines, Reply, Shopper, User
from tests.integration.test_database import _kill_function_connections, round_trips
from tests.integration.test_signin import invoke_trigger, post_authentication_event, signed_in

SOURCE_IP = "198.51.100.23"
FORWARDED_IP = "192.0.2.140"


class Events:
    """A Shopper's ``load`` that keeps each event it sends (to read API Gateway's request id)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def load(self, route: template.Route) -> stack.Handler:
        handler = stack.load_function(route)

        def call(event: dict[str, Any], context: Any) -> dict[str, Any]:
            self.sent.append(event)
            return handler(event, context)

        return call

    @property
    def request_id(self) -> str:
        return str(self.sent[-1]["requestContext"]["requestId"])


def guest_owner_of(shopper: Shopper) -> str:
    return owner_id("guest", hash_token(shopper.session_token))


def version(shopper: Shopper) -> int:
    return int(shopper.get().json["version"])


def changed(logged: Lines, shopper: Shopper, change: Callable[[], Reply]) -> tuple[dict[str, Any], Reply, int, int]:
    """The operation line of ``change``, its reply, and the versions reads saw before and after."""
    before = version(shopper)
    logged.clear()
    reply = change()
    line = logged.operation()
    return line, reply, before, version(shopper)


# --- the operation line ---------------------------------------------------------------------------


def test_every_change_logs_the_versions_it_moved_between(logged: Lines) -> None:
    events = Events()
    shopper = Shopper(load=events.load, source_ip=SOURCE_IP)

    logged.clear()
    reply = shopper.add(MUG, 2)
    line, request_id = logged.operation(), events.request_id
    before, after = 0, version(shopper)
    assert reply.status == 200 and after == 1  # a first add creates the cart
    assert line["message"] == "Cart operation"
    assert line["operation"] == "add_item" and line["route"] == "POST /cart/items"
    assert (line["status"], line["outcome"]) == (200, "ok")
    assert (line["version_before"], line["version_after"]) == (before, after)
    assert line["cart_id"] == reply.json["id"]
    assert line["owner_kind"] == "guest" and line["owner"] == guest_owner_of(shopper)
    assert line["correlation_id"] == request_id  # API Gateway's requestContext.requestId
    assert (line["idempotent"], line["replay"], line["reconnects"]) == (False, False, 0)
    assert line["round_trips"] == 1 and line["duration_ms"] >= 0

    item = reply.json["items"][0]["id"]
    for name, change in [
        ("update_item", lambda: shopper.update(item, quantity=3)),
        ("add_item", lambda: shopper.add(POSTER, 1)),
        ("remove_item", lambda: shopper.remove(item)),
        ("clear_cart", shopper.clear),
    ]:
        line, reply, before, after = changed(logged, shopper, change)
        assert reply.status == 200, reply
        assert line["operation"] == name and line["outcome"] == "ok"
        assert (line["version_before"], line["version_after"]) == (before, after) and after == before + 1, name

    logged.clear()
    reply = shopper.get()
    line = logged.operation()
    assert line["operation"] == "get_cart" and line["version_before"] == line["version_after"] == reply.json["version"]


def test_round_trips_are_the_ones_on_the_wire(logged: Lines, shopper: Shopper) -> None:
    item = shopper.add(MUG).json["items"][0]["id"]
    for action in (shopper.get, lambda: shopper.add(MUG), lambda: shopper.update(item, quantity=99)):
        logged.clear()
        on_the_wire = round_trips(action)
        assert logged.operation()["round_trips"] == on_the_wire >= 1


def test_a_new_visitors_read_and_a_304_are_logged_without_a_cart(logged: Lines) -> None:
    visitor = Shopper()
    visitor.get()
    line = logged.operation()
    assert (line["outcome"], line["round_trips"], line["version_before"], line["version_after"]) == ("ok", 0, 0, 0)
    assert "cart_id" not in line  # no cart yet (Powertools leaves out what is None)
    visitor.add(MUG)
    current = version(visitor)
    logged.clear()
    reply = visitor.call("GET", "/cart", headers={"If-None-Match": f'"{current}"'})
    line = logged.operation()
    assert reply.status == 304
    assert (line["status"], line["outcome"], line["version_after"]) == (304, "not_modified", current)


def test_a_replayed_idempotency_key_is_marked_replay(logged: Lines, shopper: Shopper) -> None:
    shopper.add(MUG)
    key = {"Idempotency-Key": f"oplog-{uuid.uuid4()}"}

    def add() -> Reply:
        return shopper.call("POST", "/cart/items", body={"productId": POSTER}, headers=key)

    line, first, before, after = changed(logged, shopper, add)
    assert first.status == 200
    assert (line["idempotent"], line["replay"]) == (True, False)
    assert (line["version_before"], line["version_after"]) == (before, after) == (after - 1, after)

    logged.clear()
    again = add()
    line = logged.operation()
    assert again.json == first.json and again.headers["ETag"] == f'"{after}"'
    assert (line["idempotent"], line["replay"], line["outcome"]) == (True, True, "ok")
    assert line["version_before"] == line["version_after"] == after  # nothing changed this time
    assert line["round_trips"] == 2  # the refused claim, then the stored response
    assert version(shopper) == after


def test_a_problems_code_is_the_outcome(logged: Lines, shopper: Shopper) -> None:
    cart = shopper.add(MUG).json
    cases: list[tuple[Callable[[], Reply], int, str]] = [
        (lambda: shopper.call("DELETE", "/cart", headers={"If-Match": '"999"'}), 409, "version_conflict"),
        (lambda: shopper.add(MUG, 0), 422, "validation_failed"),
        (lambda: shopper.add(str(uuid.uuid4())), 404, "product_not_found"),
        (lambda: shopper.update(str(uuid.uuid4()), quantity=1), 404, "item_not_found"),
        (lambda: shopper.call("POST", "/cart/items", raw_body="{nope"), 400, "malformed_json"),
        (lambda: shopper.call("POST", "/cart/checkout", body={}), 401, "authentication_required"),
        (lambda: shopper.call("GET", "/cart", headers={"Authorization": "Bearer nope"}), 401, "invalid_token"),
    ]
    for request, status, code in cases:
        logged.clear()
        reply = request()
        line = logged.operation()
        assert (reply.status, reply.json["code"]) == (status, code)
        assert (line["status"], line["outcome"]) == (status, code), line
    # A stale If-Match is refused at the current version, and the line names the cart.
    logged.clear()
    shopper.call("DELETE", "/cart", headers={"If-Match": '"999"'})
    line = logged.operation()
    assert line["cart_id"] == cart["id"]
    assert line["version_before"] == line["version_after"] == cart["version"]
    # An invalid bearer token has no owner: the line says so by leaving it out.
    logged.clear()
    shopper.call("GET", "/cart", headers={"Authorization": "Bearer nope"})
    assert {"owner", "owner_kind"}.isdisjoint(logged.operation())


# --- stock refusals, sync conflicts, merges, reconnects -------------------------------------------


def test_a_stock_refusal_names_the_product(logged: Lines, shopper: Shopper, make_product) -> None:
    product = make_product(stock=3)
    shopper.add(product["id"], 2)
    logged.clear()
    reply = shopper.add(product["id"], 2)
    assert (reply.status, reply.json["code"]) == (409, "insufficient_stock")
    (refusal,) = logged.of("stock_refused")
    assert refusal["message"] == "Stock refused" and refusal["operation"] == "add_item"
    assert (refusal["product_id"], refusal["requested"], refusal["in_cart"], refusal["available"]) == (
        product["id"], 2, 2, 3,
    )  # fmt: skip
    assert refusal["owner"] == guest_owner_of(shopper) and refusal["owner_kind"] == "guest"
    assert refusal["correlation_id"] == logged.operation()["correlation_id"]
    assert logged.operation()["outcome"] == "insufficient_stock"

    item = shopper.get().json["items"][0]["id"]
    logged.clear()
    assert shopper.update(item, quantity=5).status == 409
    (refusal,) = logged.of("stock_refused")
    assert (refusal["operation"], refusal["item_id"], refusal["requested"], refusal["available"]) == (
        "update_item", item, 5, 3,
    )  # fmt: skip


def test_checkout_and_validate_log_the_lines_short_of_stock(logged: Lines, user: User, make_product, sql) -> None:
    product = make_product(stock=5)
    buyer = Shopper(bearer=user.access_token)
    cart = buyer.add(product["id"], 4).json
    sql.execute("update product set stock = 1 where id = %s", (product["id"],))
    for path, status in (("/cart/validate", 200), ("/cart/checkout", 409)):
        logged.clear()
        assert buyer.call("POST", path, body={} if path.endswith("checkout") else None).status == status
        (refusal,) = logged.of("stock_refused")
        assert (refusal["product_id"], refusal["requested"], refusal["available"]) == (product["id"], 4, 1)
        assert refusal["cart_id"] == cart["id"] and refusal["item_id"] == cart["items"][0]["id"]
        assert refusal["owner"] == owner_id("user", user.sub) and refusal["owner_kind"] == "user"
    assert logged.operation()["outcome"] == "checkout_blocked"
    # Neither validate nor a checkout that reserves changes the cart's version.
    sql.execute("update product set stock = 5 where id = %s", (product["id"],))
    for path in ("/cart/validate", "/cart/checkout"):
        line, reply, before, after = changed(logged, buyer, lambda: buyer.call("POST", path, body={}))
        assert reply.status == 200 and not logged.of("stock_refused")
        assert line["version_before"] == line["version_after"] == before == after


def test_sync_conflicts_are_logged_one_line_each(logged: Lines, shopper: Shopper, make_product) -> None:
    scarce, plenty = make_product(stock=2), make_product(stock=50)
    shopper.add(plenty["id"], 1)
    logged.clear()
    items = [{"productId": scarce["id"], "quantity": 5}, {"productId": plenty["id"], "quantity": 3}]
    reply = shopper.call("POST", "/cart/sync", body={"items": items})
    assert reply.status == 200
    conflicts = {line["product_id"]: line for line in logged.of("sync_conflict")}
    assert set(conflicts) == {c["productId"] for c in reply.json["conflicts"]} >= {scarce["id"]}
    short = conflicts[scarce["id"]]
    assert (short["client_quantity"], short["server_quantity"], short["resolved"], short["reason"]) == (
        5, 0, 2, "insufficient_stock",
    )  # fmt: skip
    assert short["operation"] == "sync_cart" and short["cart_id"] == reply.json["cart"]["id"]
    assert short["strategy"] and short["owner"] == guest_owner_of(shopper)
    line = logged.operation()
    assert line["version_after"] == line["version_before"] + 1 == reply.json["cart"]["version"]


def test_merges_are_logged_with_where_they_came_from(logged: Lines, make_user, cognito) -> None:
    # POST /cart/merge: the guest's line moves into the user's cart.
    user = make_user()
    Shopper(bearer=user.access_token).add(MUG, 1)
    guest = Shopper()
    guest.add(POSTER, 1)
    guest_id = guest_owner_of(guest)
    user_version = version(Shopper(bearer=user.access_token))
    logged.clear()
    reply = signed_in(guest, user).merge()
    (merge,) = logged.of("merge")
    assert (merge["via"], merge["outcome"], merge["lines_moved"], merge["added"]) == ("route", "merged", 1, 1)
    assert merge["owner"] == owner_id("user", user.sub) and merge["guest_owner"] == guest_id
    assert merge["cart_id"] == reply.json["cart"]["id"] and merge["operation"] == "merge_cart"
    line = logged.operation()
    assert (line["version_before"], line["version_after"]) == (user_version, reply.json["cart"]["version"])
    assert line["version_after"] == user_version + 1

    # The lazy path: a signed-in request still carrying a guest session, the user without a cart.
    lazy_user, lazy_guest = make_user(), Shopper()
    lazy_guest.add(MUG, 2)
    logged.clear()
    reply = signed_in(lazy_guest, lazy_user).add(POSTER, 1)
    (merge,) = logged.of("merge")
    assert (merge["via"], merge["outcome"], merge["lines_moved"]) == ("lazy", "adopted", 1)
    assert merge["operation"] == "add_item" and merge["guest_owner"] == owner_id(
        "guest", hash_token(lazy_guest.token or "")
    )
    line = logged.operation()
    assert line["version_before"] == 0 and line["version_after"] == reply.json["version"]

    # The sign-in trigger.
    trigger_user, trigger_guest = make_user(), Shopper()
    trigger_guest.add(MUG, 1)
    logged.clear()
    event = post_authentication_event(cognito, trigger_user, trigger_guest.token)
    assert invoke_trigger(json.loads(json.dumps(event))) == event
    (merge,) = logged.of("merge")
    assert merge["message"] == "Cart merged at sign-in"
    assert (merge["via"], merge["outcome"], merge["lines_moved"]) == ("trigger", "adopted", 1)
    assert merge["owner"] == owner_id("user", trigger_user.sub) and merge["guest_owner"] == guest_owner_of(
        trigger_guest
    )
    assert not logged.of("operation")  # a trigger is no cart operation of the API
    assert "correlation_id" not in merge  # no API request: none (never the last request's)
    assert merge["cart_id"] == Shopper(bearer=trigger_user.access_token).get().json["id"]


@pytest.fixture
def direct(fresh_settings, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """The functions straight to PostgreSQL, no PgBouncer in between: a transaction-pooling proxy
    replaces a server session ended between transactions without the client seeing it, so only a
    direct connection shows the retry (as one through RDS Proxy does when the proxy itself ends it)."""
    monkeypatch.setenv("DATABASE_URL", database_url)


def test_a_reconnect_retry_is_logged(direct, logged: Lines, sql: psycopg.Connection[DictRow]) -> None:
    shopper = Shopper()
    shopper.add(MUG, 1)
    assert _kill_function_connections(sql) >= 1
    logged.clear()
    reply = shopper.add(MUG, 1)
    assert reply.status == 200 and reply.json["items"][0]["quantity"] == 2
    (retry,) = logged.of("reconnect")
    assert retry["message"] == "Database reconnect" and retry["operation"] == "add_item"
    assert retry["error"] and (retry.get("sqlstate") in (None, "57P01"))
    assert retry["owner"] == guest_owner_of(shopper)
    line = logged.operation()
    assert (line["outcome"], line["reconnects"], line["round_trips"]) == ("ok", 1, 2)
    assert line["correlation_id"] == retry["correlation_id"]


# --- nothing in clear -----------------------------------------------------------------------------


def test_support_can_find_a_shopper_from_the_sub_alone(logged: Lines, user: User) -> None:
    Shopper(bearer=user.access_token).add(MUG)
    expected = hashlib.sha256(f"user:{user.sub}".encode()).hexdigest()[:16]  # docs/operations.md's recipe
    assert logged.operation()["owner"] == expected


def test_no_token_sub_email_or_address_in_clear(logged: Lines, user: User, cognito) -> None:
    """Every kind of line, from guests (one behind a trusted forwarder naming the shopper's
    address) and a user (whose ID token carries an email), through every path above."""
    from tests.conftest import FORWARDER_KEY

    guest = Shopper(source_ip=SOURCE_IP)
    guest.add(MUG, 2)
    forwarded = {"X-Cart-Forwarder-Key": FORWARDER_KEY, "X-Cart-Client-Address": FORWARDED_IP}
    other = Shopper(source_ip=SOURCE_IP)
    other.call("POST", "/cart/items", body={"productId": POSTER, "quantity": 9}, headers=forwarded)  # refused
    other.add(POSTER, 1)
    other.call("POST", "/cart/sync", body={"items": [{"productId": POSTER, "quantity": 7}]})
    with_id_token = Shopper(bearer=user.id_token, source_ip=SOURCE_IP)
    with_id_token.token = guest.token
    with_id_token.add(POSTER, 1)  # the lazy merge, and the email remembered
    event = post_authentication_event(cognito, user, other.token)
    invoke_trigger(json.loads(json.dumps(event)))

    kinds = {line.get("oplog") for line in logged.lines}
    assert {"operation", "stock_refused", "sync_conflict", "merge"} <= kinds, kinds
    text = "\n".join(logged.text)
    secrets = {
        "guest token": guest.session_token,
        "other guest token": other.session_token,
        "guest owner key": hash_token(guest.session_token),
        "access token": user.access_token,
        "ID token": user.id_token,
        "sub": user.sub,
        "email": user.email,
        "source address": SOURCE_IP,
        "forwarded address": FORWARDED_IP,
        "forwarder key": FORWARDER_KEY,
    }
    leaked = [name for name, value in secrets.items() if value in text]
    assert not leaked, f"in the operations log in clear: {leaked}"
