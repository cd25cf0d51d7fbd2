"""What RDS Proxy accepts, held over the whole API: the startup parameters of every connection the
functions open, and no statement that would pin a proxy session (Aurora User Guide, "Connecting to a
database through RDS Proxy" and "Avoiding pinning an RDS Proxy").

The functions reach PostgreSQL through PgBouncer in transaction mode in every test (tests/conftest.py's
``proxy``). Here two more checks stand in front of or behind it:

- a startup guard, in front of PgBouncer, that reads each connection's startup packet and refuses, with
  RDS Proxy's own message, any parameter outside RDS Proxy's list (``cart_common.db.STARTUP_PARAMETERS``);
- the server's statement log (``log_statement = all`` for the application role in this database), read
  after every route has run, for statements that pin: session ``SET``, named prepared statements,
  session advisory locks, ``LISTEN``, temporary tables, holdable cursors.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from cart_common import db, trigger
from cart_common.db import STARTUP_PARAMETERS, get_database
from local import pgbouncer, postgres, stack
from local.dev import POST_AUTH_EVENT
from local.pgbouncer import PgBouncer
from tests.conftest import (
    APP_PASSWORD,
    MUG,
    POSTER,
    TSHIRT,
    TSHIRT_S_RED,
    Reply,
    Shopper,
    _reset_layer_state,
    _server_url,
    routes,
)

# --- the startup guard -----------------------------------------------------------------------------

_SSL_REQUEST, _GSSENC_REQUEST, _CANCEL_REQUEST, _PROTOCOL_3 = 80877103, 80877104, 80877102, 196608
# RDS Proxy's answer to a startup parameter it does not accept (psycopg2 issue 1577 quotes it).
RDS_PROXY_REFUSAL = "Feature not supported: RDS Proxy currently doesn't support command-line options."


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client closed the connection during startup")
        data += chunk
    return data


def _error_response(sqlstate: str, message: str) -> bytes:
    fields = b"".join(
        kind + value.encode() + b"\0"
        for kind, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


class StartupGuard:
    """A TCP front for ``upstream_port`` that records every startup packet's parameter names and,
    as RDS Proxy does, refuses a connection that carries one outside its list; after the startup
    packet it only relays bytes. TLS requests are answered 'N' (RDS Proxy would speak TLS; what
    travels inside is the same startup packet)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.seen: list[dict[str, str]] = []
        self.refused: list[set[str]] = []
        self._threads: list[threading.Thread] = []
        self._running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, client: socket.socket) -> None:
        with contextlib.closing(client):
            try:
                while True:
                    (length,) = struct.unpack("!I", _read_exactly(client, 4))
                    body = _read_exactly(client, length - 4)
                    (code,) = struct.unpack("!I", body[:4])
                    if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                        client.sendall(b"N")
                        continue
                    break
            except ConnectionError:
                return
            packet = struct.pack("!I", length) + body
            if code == _PROTOCOL_3:
                fields = body[4:].split(b"\0")
                params = {fields[i].decode(): fields[i + 1].decode() for i in range(0, len(fields) - 2, 2) if fields[i]}
                self.seen.append(params)
                unknown = set(params) - STARTUP_PARAMETERS
                if unknown:
                    self.refused.append(unknown)
                    client.sendall(_error_response("0A000", RDS_PROXY_REFUSAL))
                    return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with contextlib.closing(upstream):
                upstream.sendall(packet)
                pump = threading.Thread(target=_relay, args=(upstream, client), daemon=True)
                pump.start()
                _relay(client, upstream)
                pump.join(timeout=5)

    def url(self, dbname: str) -> str:
        return psycopg.conninfo.make_conninfo(
            host="127.0.0.1", port=self.port, dbname=dbname, user=pgbouncer.APP_ROLE, password=APP_PASSWORD
        )

    def close(self) -> None:
        self._running = False
        self.listener.close()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def guard(proxy: PgBouncer) -> Iterator[StartupGuard]:
    front = StartupGuard(proxy.port)
    yield front
    front.close()


def _dbname(database_url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(database_url)["dbname"])


# --- every route, the trigger and the sweep -----------------------------------------------------


def exercise_the_api(user: Any, admin: Any) -> set[tuple[str, str]]:
    """Calls every route of the template (as a guest, a signed-in user and an admin), the Post
    Authentication trigger and the lifecycle sweep; returns the routes called."""
    called: set[tuple[str, str]] = set()

    class Recording(Shopper):
        def call(self, method: str, route_path: str, **kwargs: Any) -> Reply:
            called.add((method, route_path))
            reply = super().call(method, route_path, **kwargs)
            assert reply.status < 500, (method, route_path, reply)
            return reply

    guest = Recording()
    guest.get()
    guest.add(MUG, 2)
    guest.add(TSHIRT, 1, TSHIRT_S_RED)
    items = guest.get().json["items"]
    mug = next(i["id"] for i in items if i["productId"] == MUG)
    shirt = next(i["id"] for i in items if i["productId"] == TSHIRT)
    guest.update(mug, quantity=3)
    guest.call("POST", "/cart/discount-codes", body={"code": "WELCOME10"})
    guest.call("DELETE", "/cart/discount-codes/{code}", path_params={"code": "WELCOME10"})
    saved = guest.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": shirt}).json
    guest.call("POST", "/cart/saved/{savedId}/restore", path_params={"savedId": saved["savedForLater"][0]["id"]})
    guest.call("POST", "/cart/sync", body={"items": [{"productId": POSTER, "quantity": 1}]})
    guest.call("POST", "/cart/prices/accept", body={"items": [{"itemId": mug, "unitPrice": 1}]})  # 409 price_changed
    guest.call("POST", "/cart/prices/accept", body={})
    guest.call("POST", "/cart/items/bulk", body={"changes": [{"op": "set", "itemId": mug, "quantity": 2},
                                                             {"op": "add", "productId": POSTER}]})  # fmt: skip
    guest.call("POST", "/cart/validate", body={})
    exercise_the_lists(guest, Recording())  # the guest's lists come along at the sign-in below
    guest.remove(mug)
    guest.call("POST", "/cart/checkout", body={})  # a guest: 401, answered without the database
    token = guest.session_token

    signed_in = Recording(bearer=user.access_token)
    signed_in.token = token
    signed_in.merge()
    opened = signed_in.call("POST", "/cart/checkout", body={"acceptPriceChanges": True}).json
    checkout = {"checkoutId": opened.get("checkoutId") or str(uuid.uuid4())}
    # the order service's IAM routes (issue 20): a release, then a completion of the released checkout (409)
    service = Recording()
    service.call("POST", "/checkouts/{checkoutId}/release", path_params=checkout, body={"reason": "cancelled"})
    service.call("POST", "/checkouts/{checkoutId}/complete", path_params=checkout, body={"orderId": "order-proxy"})
    signed_in.clear()
    signed_in.call("POST", "/cart/reorder", body={"orderId": "order-proxy"})  # released, never completed: 404

    Recording(bearer=admin.access_token).call("GET", "/admin/carts/abandoned")
    Recording(bearer=admin.access_token).call("GET", "/admin/analytics/carts")
    exercise_the_admin_api_and_the_catalog(Recording(bearer=admin.access_token), Recording(), user.sub)

    # a recovery link: the cart marked abandoned (test-side SQL on the API's own connection), then
    # brought back by a fresh browser
    from cart_common import recovery
    from cart_common.db import get_database

    abandoning = Recording()
    abandoning.add(MUG, 1)
    cart_id = abandoning.get().json["id"]
    marked: Any = get_database().run(
        lambda conn: conn.execute(
            "update cart set abandoned_at = now(), abandoned_value = 0 where id = %s returning abandoned_at", (cart_id,)
        ).fetchone()
    )
    assert marked is not None
    token = recovery.mint(uuid.UUID(cart_id), marked["abandoned_at"])
    assert Recording().call("POST", "/cart/recover", body={"token": token}).status == 200

    event = json.loads(POST_AUTH_EVENT.read_text())
    event["request"]["userAttributes"]["sub"] = user.sub
    event["userName"] = user.sub
    event["request"].pop("clientMetadata", None)
    trigger.lambda_handler(event, stack.LambdaContext("SignInMerge", 5))

    from cart_common import lifecycle

    lifecycle.run(stack.LambdaContext("ExpireCartsFunction", 300))

    # the order service's events and the outbox relay (issue 20)
    from cart_common import events, orders

    orders.handle({"detail-type": "PaymentSucceeded", "detail": {**checkout, "orderId": "order-proxy"}})
    events.relay(grace_s=0)
    exercise_the_catalog_sync()
    return called


def exercise_the_lists(shopper: Any, stranger: Any) -> None:
    """Every list and share-link route (issue 23), as a shopper whose cart holds a poster, and a
    stranger who opens the shopper's link and copies it."""
    listed = shopper.call("POST", "/lists", body={"name": "Proxy"}).json
    by_list = {"listId": listed["id"]}
    shopper.call("GET", "/lists")
    shopper.call("PATCH", "/lists/{listId}", path_params=by_list, body={"name": "Proxy list"})
    added = shopper.call("POST", "/lists/{listId}/items", path_params=by_list, body={"productId": MUG}).json
    shopper.call("GET", "/lists/{listId}", path_params=by_list)
    shopper.call("POST", "/lists/{listId}/restore", path_params=by_list)
    item = {**by_list, "listItemId": added["items"][0]["id"]}
    shopper.call("POST", "/lists/{listId}/items/{listItemId}/move-to-cart", path_params=item)
    poster = next(i["id"] for i in shopper.get().json["items"] if i["productId"] == POSTER)
    moved = shopper.call("POST", "/cart/items/{itemId}/move-to-list", path_params={"itemId": poster}, body=by_list).json
    listed_item = {**by_list, "listItemId": moved["list"]["items"][0]["id"]}
    shopper.call("DELETE", "/lists/{listId}/items/{listItemId}", path_params=listed_item)
    saved = shopper.call("POST", "/cart/save-as-list", body={"name": "Proxy saved"}).json
    link = shopper.call("POST", "/cart/share", body={}).json
    shopper.call("POST", "/lists/{listId}/share", path_params={"listId": saved["id"]}, body={})
    assert stranger.call("GET", "/shared/{token}", path_params={"token": link["token"]}).status == 200
    assert stranger.call("POST", "/cart/copy-shared", body={"token": link["token"]}).status == 200
    shopper.call("GET", "/shares")
    shopper.call("DELETE", "/shares/{shareId}", path_params={"shareId": link["shareId"]})
    shopper.call("DELETE", "/lists/{listId}", path_params=by_list)


def exercise_the_catalog_sync() -> None:
    """The catalog events' consumer and an import file (issue 21: catalog_apply, the import's job and batch)."""
    import tempfile
    from pathlib import Path

    from cart_common import catalog_import, catalog_sync

    pid = str(uuid.uuid4())
    product = {"id": pid, "version": 1, "name": "Lamp", "slug": f"lamp-{pid}", "price": 100, "currency": "USD"}
    batch = {"Records": [{"messageId": "m1", "body": json.dumps({"source": "shop.catalog", "detail-type": "ProductUpserted",
                                                                 "detail": product})}]}  # fmt: skip
    assert catalog_sync.handle_batch(batch) == {"batchItemFailures": []}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "proxy.jsonl"
        path.write_text(json.dumps({**product, "version": 2, "stock": 5}) + "\n")
        assert catalog_import.run(catalog_import.FileSource(path), lambda: 600_000).applied == 1


def exercise_the_admin_api_and_the_catalog(as_admin: Any, public: Any, erased_sub: str) -> None:
    """Every admin catalog, discount-code and erasure route, and the public catalog (issue 21)."""
    slug = f"proxy-{uuid.uuid4().hex[:8]}"
    product = as_admin.call("POST", "/admin/products", body={"name": "Proxy", "slug": slug, "price": 100,
                                                             "currency": "USD", "stock": 1}).json  # fmt: skip
    by_id = {"productId": product["id"]}
    as_admin.call("PATCH", "/admin/products/{productId}", path_params=by_id, body={"price": 120})
    as_admin.call("PUT", "/admin/products/{productId}/stock", path_params=by_id, body={"stock": 3})
    made = as_admin.call("POST", "/admin/products/{productId}/variants", path_params=by_id,
                         body={"sku": f"{slug}-v", "stock": 2}).json  # fmt: skip
    by_variant = {"variantId": made["variants"][0]["id"]}
    as_admin.call("PATCH", "/admin/variants/{variantId}", path_params=by_variant, body={"price": 130})
    as_admin.call("PUT", "/admin/variants/{variantId}/stock", path_params=by_variant, body={"stock": 4})
    code = f"PROXY{uuid.uuid4().hex[:6]}".upper()
    as_admin.call("POST", "/admin/discount-codes", body={"code": code, "kind": "percent", "value": 5})
    as_admin.call("DELETE", "/admin/discount-codes/{code}", path_params={"code": code})
    assert public.call("GET", "/catalog/products").status == 200
    assert public.call("GET", "/catalog/products/{slug}", path_params={"slug": slug}).status == 200
    as_admin.call("DELETE", "/admin/users/{userId}/data", path_params={"userId": erased_sub})


# --- 1. startup parameters -------------------------------------------------------------------------


def test_every_function_signs_in_with_only_the_startup_parameters_rds_proxy_accepts(
    fresh_settings, monkeypatch, guard: StartupGuard, database_url: str, user, admin
) -> None:
    monkeypatch.setenv("DATABASE_URL", guard.url(_dbname(database_url)))
    called = exercise_the_api(user, admin)
    assert called == set(routes()), f"routes not exercised: {set(routes()) - called}"
    assert guard.seen, "no connection went through the guard"
    assert guard.refused == [], guard.refused
    assert all(set(params) <= STARTUP_PARAMETERS for params in guard.seen), guard.seen


def test_in_aws_the_connection_from_host_and_secret_sends_only_accepted_parameters(
    fresh_settings, monkeypatch, guard: StartupGuard, database_url: str
) -> None:
    """The AWS path (DB_HOST, DB_PORT, DB_NAME and a secret; sslmode=prefer asks for TLS first)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from aws_lambda_powertools.utilities import parameters

    with mock_aws():
        parameters.clear_caches()
        secret = boto3.client("secretsmanager").create_secret(
            Name=f"cart-app-{uuid.uuid4().hex}",
            SecretString=json.dumps({"username": pgbouncer.APP_ROLE, "password": APP_PASSWORD}),
        )
        monkeypatch.delenv("DATABASE_URL")
        monkeypatch.setenv("DB_HOST", "127.0.0.1")
        monkeypatch.setenv("DB_PORT", str(guard.port))
        monkeypatch.setenv("DB_NAME", _dbname(database_url))
        monkeypatch.setenv("DB_SECRET_ARN", secret["ARN"])
        monkeypatch.setenv("DB_SSLMODE", "prefer")
        _reset_layer_state()
        shopper = Shopper()
        assert shopper.add(MUG, 2).json["itemCount"] == 2
        parameters.clear_caches()
    assert [set(params) for params in guard.seen] == [{"user", "database", "application_name"}]


def test_the_guard_refuses_a_planted_options_parameter_with_rds_proxys_message(
    guard: StartupGuard, database_url: str
) -> None:
    with pytest.raises(psycopg.OperationalError, match="RDS Proxy currently doesn't support command-line options"):
        psycopg.connect(guard.url(_dbname(database_url)), options="-c statement_timeout=5000")
    assert guard.refused == [{"options"}]


def test_a_function_that_planted_options_again_would_fail_every_request(
    fresh_settings, monkeypatch, guard: StartupGuard, database_url: str
) -> None:
    real_connect = psycopg.connect

    def connect_with_options(*args: Any, **kwargs: Any) -> psycopg.Connection:
        return real_connect(*args, **kwargs, options="-c statement_timeout=5000")

    monkeypatch.setattr(db.psycopg, "connect", connect_with_options)
    monkeypatch.setenv("DATABASE_URL", guard.url(_dbname(database_url)))
    reply = Shopper().add(MUG)
    assert reply.status == 503 and reply.json["code"] == "database_unavailable"
    assert guard.refused and all(refused == {"options"} for refused in guard.refused)


def test_pgbouncer_itself_refuses_the_options_parameter(proxy: PgBouncer, api_database_url: str) -> None:
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter: options"):
        psycopg.connect(api_database_url, options="-c statement_timeout=5000")


# --- 2. nothing pins a proxy session ----------------------------------------------------------------

_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \w+ \[\d+\] ", re.MULTILINE)
_LOGGED = re.compile(r"^LOG:  (?:statement|execute (?P<name>[^:]+)): (?P<sql>.*)", re.DOTALL)
# Each pattern names a statement that leaves state in the server session, so RDS Proxy would pin it.
PINNING = {
    "session SET": re.compile(r"^\s*(?:set|reset)\s+(?!local\b|transaction\b)", re.IGNORECASE),
    "session set_config": re.compile(r"\bset_config\s*\([^)]*,\s*false\s*\)", re.IGNORECASE),
    "prepared statement": re.compile(r"^\s*(?:prepare|execute|deallocate|discard)\b", re.IGNORECASE),
    "session advisory lock": re.compile(r"\bpg_(?:try_)?advisory_(?:lock|unlock)", re.IGNORECASE),
    "LISTEN": re.compile(r"^\s*(?:listen|unlisten)\b", re.IGNORECASE),
    "temporary table": re.compile(r"\bcreate\s+(?:(?:global|local)\s+)?temp(?:orary)?\b", re.IGNORECASE),
    "holdable cursor": re.compile(r"\bdeclare\b.*\bwith\s+hold\b", re.IGNORECASE | re.DOTALL),
    "currval": re.compile(r"\bcurrval\s*\(", re.IGNORECASE),
}


def logged_statements(log: str) -> list[tuple[str, str]]:
    """(prepared statement name or '', SQL) of every statement in a server log excerpt."""
    entries = list(_ENTRY.finditer(log))
    starts = [match.end() for match in entries]
    ends = [*(match.start() for match in entries[1:]), len(log)]
    statements = []
    for start, end in zip(starts, ends, strict=True):
        logged = _LOGGED.match(log[start:end].rstrip("\n"))
        if logged:
            statements.append((logged["name"] or "", logged["sql"]))
    return statements


# PgBouncer's own work, not a function's: it gives each server session the client's tracked startup
# parameters (its "varcache") with a simple-protocol SET before the client's transaction, as RDS Proxy
# does for the startup parameters it accepts. psycopg sends every statement with the extended protocol
# (logged "execute <unnamed>"), so a function's own SET never looks like this.
PROXY_PARAMETER_SYNC = re.compile(
    r"^SET (?:application_name|client_encoding|DateStyle|TimeZone|standard_conforming_strings)='[^']*';$"
)


def by_the_proxy(name: str, statement: str) -> bool:
    return name == "" and PROXY_PARAMETER_SYNC.match(statement) is not None


def pinning(statements: list[tuple[str, str]]) -> list[str]:
    """What in ``statements`` would pin an RDS Proxy session, one line each."""
    found = []
    for name, statement in statements:
        if by_the_proxy(name, statement):
            continue
        if name and name != "<unnamed>":
            found.append(f"named prepared statement {name}: {statement[:80]}")
        found += [f"{what}: {statement[:80]}" for what, pattern in PINNING.items() if pattern.search(statement)]
    return found


def _server_log() -> Path:
    """The test server's log file: the embedded server's, or the collector's current file."""
    server = _server_url()
    if server == postgres.embedded_server().get_uri():
        return postgres.embedded_server().pgdata / "log"
    with psycopg.connect(server) as conn:
        row = conn.execute("select current_setting('data_directory'), pg_current_logfile()").fetchone()
    assert row and row[1], "the test server must log to a file (logging_collector = on) for this test"
    return Path(row[0]) / row[1]


@contextlib.contextmanager
def statement_log(database_url: str, proxy: PgBouncer) -> Iterator[list[tuple[str, str]]]:
    """The statements the application role sends in this database while the block runs, read from
    the server's log (log_statement = all for that role, in this database only)."""
    log = _server_log()
    statements: list[tuple[str, str]] = []

    def log_statements(value: str) -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("alter role {} in database {} set log_statement = {}").format(
                    psycopg.sql.Identifier(pgbouncer.APP_ROLE),
                    psycopg.sql.Identifier(_dbname(database_url)),
                    psycopg.sql.Literal(value),
                )
            )
        proxy.admin("RECONNECT")  # the server sessions PgBouncer opens next have the setting

    log_statements("all")
    _reset_layer_state()
    offset = log.stat().st_size
    try:
        yield statements
    finally:
        log_statements("none")
        with log.open(errors="replace") as file:
            file.seek(offset)
            statements += logged_statements(file.read())


def test_no_statement_the_api_sends_would_pin_a_proxy_session(
    fresh_settings, database_url: str, proxy: PgBouncer, user, admin
) -> None:
    with statement_log(database_url, proxy) as statements:
        called = exercise_the_api(user, admin)
    assert called == set(routes())
    # Every route's statements are in the log (the check has something to look at), each sent with
    # the extended protocol and no name (but PgBouncer's own parameter sync), and none pins.
    assert len(statements) >= len(called), statements
    assert any("cart" in sql for _, sql in statements)
    assert {name for name, sql in statements if not by_the_proxy(name, sql)} == {"<unnamed>"}
    assert pinning(statements) == []


def test_the_pinning_check_finds_a_planted_session_set(fresh_settings, database_url: str, proxy: PgBouncer) -> None:
    with statement_log(database_url, proxy) as statements:
        Shopper().add(MUG)
        get_database().run(lambda conn: conn.execute("set search_path = public"))
    assert any(found.startswith("session SET: set search_path") for found in pinning(statements)), statements


def test_the_pinning_check_finds_named_prepared_statements_advisory_locks_and_listen(
    database_url: str, proxy: PgBouncer, api_database_url: str
) -> None:
    with (
        statement_log(database_url, proxy) as statements,
        psycopg.connect(api_database_url, autocommit=True, prepare_threshold=0) as conn,
    ):
        conn.execute("select 1 where %s", (True,))  # prepared at once: a named statement
        conn.execute("select pg_advisory_lock(42), pg_advisory_unlock(42)")
        conn.execute("listen cart_changes")
        conn.execute("select set_config('statement_timeout', '1000', false)")
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(42)")  # transaction-scoped: allowed
            conn.execute("select set_config('statement_timeout', '1000', true)")  # likewise
    found = pinning(statements)
    assert any(f.startswith("named prepared statement") for f in found), found
    assert any(f.startswith("session advisory lock") for f in found), found
    assert any(f.startswith("LISTEN") for f in found), found
    assert any(f.startswith("session set_config") for f in found), found
    # The transaction-scoped forms are found only as the named statements they were sent as.
    assert not any("xact_lock" in f or "true)" in f for f in found if not f.startswith("named prepared")), found


# --- 3. what the application role may do ------------------------------------------------------------


def test_the_api_signs_in_as_the_application_role_with_the_api_statement_timeout(shopper: Shopper) -> None:
    shopper.add(MUG)
    conn = get_database().connection()
    row = conn.execute("select current_user as role, current_setting('statement_timeout') as timeout").fetchone()
    assert row == {"role": pgbouncer.APP_ROLE, "timeout": "5s"}


@pytest.mark.parametrize(
    "statement",
    [
        "create table intruder (id int)",
        "drop table cart",
        "alter table cart add column intruder int",
        "truncate cart",
        "select * from schema_migrations",
        "create role intruder",
        "create database intruder",
    ],
)
def test_the_application_role_may_not_change_the_schema_or_read_the_migrations(
    api_database_url: str, statement: str
) -> None:
    with (
        psycopg.connect(api_database_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(statement)


def test_the_application_role_holds_no_password_in_clear_on_the_server(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("select rolpassword from pg_authid where rolname = %s", (pgbouncer.APP_ROLE,)).fetchone()
    assert row and row[0].startswith("SCRAM-SHA-256$") and APP_PASSWORD not in row[0]
