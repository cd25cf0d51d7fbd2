"""Test fixtures: a real PostgreSQL database (the embedded server, or the server in DATABASE_URL),
migrated and loaded with the demo catalog, and helpers to invoke the functions with API Gateway
HTTP API events."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow
from werkzeug.test import TestResponse

import app_role
import migrate
from app_role import AppRole
from cart_common.oplog import logger as app_logger
from local import bus as local_bus
from local import cognito as local_cognito
from local import pgbouncer, postgres, stack, template

ROOT = Path(__file__).resolve().parent.parent

SIGNING_KEY = secrets.token_urlsafe(48)
# The trusted forwarder's key (the storefront's server sends it as X-Cart-Forwarder-Key).
FORWARDER_KEY = secrets.token_urlsafe(48)
MUG = "00000000-0000-4000-8000-000000000003"  # demo catalog: no variants, stock 40
POSTER = "00000000-0000-4000-8000-000000000004"  # no variants, stock 3
TSHIRT = "00000000-0000-4000-8000-000000000001"  # variants
TSHIRT_S_RED = "00000000-0000-4000-8001-000000000001"  # stock 25
TSHIRT_M_RED = "00000000-0000-4000-8001-000000000002"  # stock 30
TSHIRT_L_RED = "00000000-0000-4000-8001-000000000003"  # stock 0
SHOES = "00000000-0000-4000-8000-000000000002"  # max_per_order 4
SHOE_42 = "00000000-0000-4000-8001-000000000005"  # stock 6
HOODIE = "00000000-0000-4000-8000-000000000005"
HOODIE_XXL = "00000000-0000-4000-8001-00000000000a"  # inactive variant
RETIRED_CAP = "00000000-0000-4000-8000-000000000006"  # inactive product


@functools.cache
def _server_url() -> str:
    """The test server, as the run found it (before ``environment`` points DATABASE_URL at the API's
    proxied connection): DATABASE_URL's, or the embedded server."""
    return os.environ.get("DATABASE_URL") or postgres.embedded_server().get_uri()


def _with_dbname(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=name)


# --- `make dev` in a subprocess --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MakeDev:
    """What ``make dev`` runs (``python -m local.dev``) with ``env``, its output collected line by
    line as it prints (``printed``), so a test can wait for a line and show everything on failure."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.dev"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.output: list[str] = []
        assert self.process.stdout is not None  # stdout=PIPE
        stdout = self.process.stdout
        self._reader = threading.Thread(target=lambda: self.output.extend(stdout), daemon=True)
        self._reader.start()

    @property
    def printed(self) -> str:
        return "".join(self.output)

    def printed_line(self, prefix: str) -> bool:
        """Whether a line it printed starts with ``prefix`` (its start-up lines name what is ready)."""
        return any(line.startswith(prefix) for line in self.output)

    def wait_until(self, ready: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
        """Polls ``ready`` until it holds; fails (with the output) if the process ends or ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        while not ready():
            assert self.process.poll() is None, self.printed
            assert time.monotonic() < deadline, f"{what}:\n{self.printed}"
            time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C in a terminal would stop it (killed after 30 s); its exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self._reader.join(timeout=10)
        return self.process.wait()


def serves(url: str) -> bool:
    """Whether a GET of ``url`` succeeds yet (refused, timed out or an error status: not yet)."""
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:  # URLError and HTTPError included
        return False


# --- reading what a query or a reply returned ---------------------------------------------------


def one[R](cursor: psycopg.Cursor[R]) -> R:
    """The next row a query returns (a dict on ``sql``, a tuple on a plain connection): the test
    fails here, at the query's call in its traceback, when there is none."""
    row = cursor.fetchone()
    assert row is not None, f"expected a row, the query returned none ({cursor.statusmessage})"
    return row


def json_of(reply: TestResponse) -> Any:
    """The JSON body of a reply through the local stack: the test fails here, with the reply's
    status and body, when it is not JSON."""
    assert reply.is_json, (
        f"not a JSON reply: {reply.status} {reply.content_type} {reply.get_data(as_text=True)[:300]!r}"
    )
    return reply.json


# The application role's password in this run (db/app_role.py): the API signs in as that role.
APP_PASSWORD = secrets.token_urlsafe(24)
API_STATEMENT_TIMEOUT_MS = 5000  # the API's, as template.yaml sets DB_STATEMENT_TIMEOUT_MS


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this test run, migrated, with the demo catalog and the application
    role; dropped afterwards. This URL signs in as the server's owner: tests use it to arrange and
    inspect rows; the API itself connects as the application role through PgBouncer
    (``api_database_url``)."""
    server = _server_url()
    name = f"cart_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    url = _with_dbname(server, name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            migrate.migrate(
                conn, demo=True, app_role=AppRole(pgbouncer.APP_ROLE, APP_PASSWORD, API_STATEMENT_TIMEOUT_MS)
            )
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(f'drop database if exists "{name}"')


@pytest.fixture(scope="session")
def proxy() -> Iterator[pgbouncer.PgBouncer]:
    """PgBouncer in transaction mode in front of the test server, as RDS Proxy is in AWS: every
    function of the run connects through it."""
    bouncer = pgbouncer.PgBouncer(_server_url(), {pgbouncer.APP_ROLE: APP_PASSWORD}).start()
    yield bouncer
    bouncer.stop()


@pytest.fixture(scope="session")
def api_database_url(database_url: str, proxy: pgbouncer.PgBouncer) -> str:
    """Where the functions connect: the run's database, as the application role, through PgBouncer."""
    return proxy.url(str(psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]), pgbouncer.APP_ROLE)


def direct_api_database() -> Any:
    """A ``Database`` (cart_common.db) that signs in as the application role straight to the server,
    not through the proxy: for a test that watches that session's lock waits by its backend pid,
    which only a direct session keeps (behind a pooler each transaction may get another one)."""
    from cart_common.config import Settings
    from cart_common.db import Database, connect

    dbname = psycopg.conninfo.conninfo_to_dict(os.environ["DATABASE_URL"])["dbname"]  # the API's database
    direct = psycopg.conninfo.make_conninfo(
        _server_url(), dbname=dbname, user=pgbouncer.APP_ROLE, password=APP_PASSWORD
    )
    return Database(lambda refresh_credentials=False: connect(Settings(database_url=direct)))


@contextlib.contextmanager
def api_statement_timeout(database_url: str, proxy: pgbouncer.PgBouncer, timeout_ms: int) -> Iterator[None]:
    """The API's statement timeout set to ``timeout_ms`` as a deploy does it (the application role's
    setting in the database, db/app_role.py), every PgBouncer connection to the database dropped so
    that each session after it has the setting (RECONNECT only retires a server session once its
    client lets go of it); put back afterwards."""
    dbname = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]

    def set_timeout(ms: int) -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            app_role.set_statement_timeout(conn, pgbouncer.APP_ROLE, ms)
        proxy.admin(f"KILL {dbname}")
        proxy.admin(f"RESUME {dbname}")

    set_timeout(timeout_ms)
    try:
        yield
    finally:
        set_timeout(API_STATEMENT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def cognito() -> Iterator[local_cognito.LocalCognito]:
    """moto's Cognito on a local port: a user pool, an app client, and its JWKS over HTTP."""
    pool = local_cognito.start()
    yield pool
    pool.stop()


class ServerFaults(logging.Handler):
    """Every server fault of the run: an unhandled exception the functions logged (answered 500
    internal_error), a problem answered as internal_error, or a function that crashed the local
    stack. A 4xx or a 503 is never one."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.faults: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if (
            message == "Unhandled error"
            or getattr(record, "code", None) == "internal_error"
            or (record.name == "local.stack")
        ):
            fault = f"{record.name}: {message}"
            if record.exc_info and record.exc_info[1] is not None:
                fault += f" ({record.exc_info[0].__name__}: {str(record.exc_info[1])[:200]})"
            self.faults.append(fault)


_WATCHED_LOGGERS = ("cart-api", "local.stack")


@pytest.fixture(scope="session", autouse=True)
def server_faults() -> Iterator[ServerFaults]:
    """A guard over the whole run: it fails if any request anywhere in it reached a 500."""
    watcher = ServerFaults()
    for name in _WATCHED_LOGGERS:
        logging.getLogger(name).addHandler(watcher)
    yield watcher
    for name in _WATCHED_LOGGERS:
        logging.getLogger(name).removeHandler(watcher)
    if watcher.faults:
        pytest.fail(
            f"{len(watcher.faults)} request(s) reached a server fault (500) during the run:\n"
            + "\n".join(watcher.faults[:20]),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def event_bus() -> Iterator[local_bus.LocalBus]:
    """The stack's EventBridge bus for the run (local/bus.py) on a port of its own: the functions
    publish to it as in AWS (boto3, AWS_ENDPOINT_URL_EVENTBRIDGE), it records every event (``.events``)
    and delivers each to the consumers its template rules match, in this process."""
    invoker = stack.InProcessInvoker(template.functions(), template.function_timeout_s())
    server = local_bus.BusServer(local_bus.LocalBus(invoker.invoke)).start()
    yield server.bus
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def environment(
    api_database_url: str, cognito: local_cognito.LocalCognito, event_bus: local_bus.LocalBus
) -> Iterator[None]:
    """The functions' environment, as template.yaml + events/env.json would give it."""
    saved = dict(os.environ)
    os.environ.update(
        {
            **cognito.settings(),
            **local_bus.environment(event_bus.endpoint),
            "DATABASE_URL": api_database_url,
            "SESSION_SIGNING_KEY": SIGNING_KEY,
            "TRUSTED_FORWARDER_KEYS": FORWARDER_KEY,
            "POWERTOOLS_SERVICE_NAME": "cart-api",
            "POWERTOOLS_METRICS_NAMESPACE": "CartApi",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_DEFAULT_REGION": "us-east-1",
            # Rate limits stay on (every change takes its tokens) but far above what any test
            # does with one shopper or from the one test address; tests/integration/test_rate_limits.py
            # sets its own.
            "RATE_LIMIT_CHANGES": "1000000",
            "RATE_LIMIT_GUEST_CARTS": "1000000",
            "RATE_LIMIT_FAILED_CODES": "1000000",
            "RATE_LIMIT_CHECKOUTS": "1000000",
        }
    )
    _reset_layer_state()
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def api_connection_kept(api_database_url: str) -> Iterator[None]:
    """Every test leaves the functions' DATABASE_URL as it found it (monkeypatch restores what it
    set): a test that moved it for good would run the rest of the run past the proxy."""
    yield
    assert os.environ.get("DATABASE_URL") == api_database_url, "a test changed DATABASE_URL and left it changed"


def _reset_layer_state() -> None:
    from cart_common import db, session
    from cart_common.config import get_settings

    get_settings.cache_clear()
    session.forget_keys()
    if db._database is not None:
        db._database.close()
    db._database = None


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """For tests that change the environment: settings and keys are read again before and after."""
    saved = dict(os.environ)
    _reset_layer_state()
    yield
    os.environ.clear()
    os.environ.update(saved)
    _reset_layer_state()


@pytest.fixture
def secretsmanager(fresh_settings: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto Secrets Manager client (fresh settings around it, Powertools' parameter caches cleared),
    for the key rings that read the signing and forwarder keys from a secret."""
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        parameters.clear_caches()
        yield boto3.client("secretsmanager")
        parameters.clear_caches()


class Clock:
    """time.monotonic as the key rings see it, moved forward by hand (``offset``, seconds)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.perf_counter() + self.offset


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from cart_common import session

    moved = Clock()
    monkeypatch.setattr(session.time, "monotonic", moved)
    return moved


@pytest.fixture
def sql(database_url: str) -> Iterator[psycopg.Connection[DictRow]]:
    """A direct connection for arranging the catalog and inspecting rows (test-side SQL only)."""
    with psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        yield conn


def own_products(database_url: str, label: str, *, count: int = 3, stock: int = 1_000_000) -> list[str]:
    """``count`` products of a test module's own, in USD with ample stock, so what the module does
    to stock or prices never touches the demo catalogue other tests rely on."""
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(database_url, autocommit=True) as conn:
        return [
            one(
                conn.execute(
                    "insert into product (name, slug, price, currency, stock) values (%s, %s, %s, 'USD', %s)"
                    " returning id::text",
                    (f"{label} {tag} {i}", f"{label.lower()}-{tag}-{i}", 100 + i, stock),
                )
            )[0]
            for i in range(count)
        ]


@pytest.fixture
def make_product(sql: psycopg.Connection[DictRow]) -> Callable[..., dict[str, Any]]:
    """Insert a product of the test's own (optionally with variants) so tests that change stock or
    prices never disturb one another."""

    def make(
        *,
        price: int = 1000,
        stock: int = 10,
        currency: str = "USD",
        max_per_order: int | None = None,
        variants: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        slug = f"p-{uuid.uuid4().hex[:10]}"
        product = one(
            sql.execute(
                "insert into product (name, slug, price, currency, stock, max_per_order) values (%s, %s, %s, %s, %s, %s)"
                " returning id::text, price, stock",
                (f"Product {slug}", slug, price, currency, stock, max_per_order),
            )
        )
        product["variants"] = [
            one(
                sql.execute(
                    "insert into product_variant (product_id, sku, attributes, price, stock)"
                    " values (%s, %s, %s, %s, %s) returning id::text, price, stock",
                    (
                        product["id"],
                        f"{slug}-{i}",
                        json.dumps(v.get("attributes", {})),
                        v.get("price"),
                        v.get("stock", 10),
                    ),
                )
            )
            for i, v in enumerate(variants or [])
        ]
        return product

    return make


# --- invoking the functions ------------------------------------------------------------------


@functools.cache
def routes() -> dict[tuple[str, str], template.Route]:
    return {(r.method, r.path): r for r in template.routes()}


def http_event(
    method: str,
    route_path: str,
    *,
    path_params: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    source_ip: str = "203.0.113.9",
) -> dict[str, Any]:
    """A payload-2.0 event as API Gateway sends it for ``route_path`` (e.g. /cart/items/{itemId})."""
    path = route_path
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    all_headers = {
        "content-type": "application/json",
        "user-agent": "pytest",
        **{k.lower(): v for k, v in (headers or {}).items()},
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route_path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "pytest",
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": f"{method} {route_path}",
            "stage": "$default",
            "time": "21/Nov/2026:05:00:00 +0000",
            "timeEpoch": 1795237200000,
        },
        "isBase64Encoded": False,
    }
    if path_params:
        event["pathParameters"] = path_params
    if cookies:
        event["cookies"] = cookies
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    return event


class Reply:
    def __init__(self, result: dict[str, Any]) -> None:
        self.raw = result
        self.status = result["statusCode"]
        self.headers = result.get("headers") or {}
        self.cookies = result.get("cookies") or []
        self.json: Any = json.loads(result["body"]) if result.get("body") else None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.json})"


class Shopper:
    """A storefront client calling the functions directly with API Gateway events; keeps its guest
    token like a browser keeps its cookie (or like an app keeps the X-Cart-Session header), and
    after signing in sends its Cognito token as a Bearer. ``load`` finds a route's handler (the
    working tree's functions; ``make bench-compare`` passes another revision's)."""

    def __init__(
        self,
        use_cookie: bool = False,
        bearer: str | None = None,
        source_ip: str = "203.0.113.9",
        load: Callable[[template.Route], stack.Handler] = stack.load_function,
    ) -> None:
        self.token: str | None = None
        self.use_cookie = use_cookie
        self.bearer = bearer
        self.source_ip = source_ip
        self.load = load

    def call(self, method: str, route_path: str, **kwargs: Any) -> Reply:
        route = routes()[(method, route_path)]
        headers = dict(kwargs.pop("headers", {}) or {})
        cookies = list(kwargs.pop("cookies", []) or [])
        if self.bearer:
            headers.setdefault("authorization", f"Bearer {self.bearer}")
        if self.token and self.use_cookie:
            cookies.append(f"cart_session={self.token}")
        elif self.token:
            headers.setdefault("x-cart-session", self.token)
        event = http_event(method, route_path, headers=headers, cookies=cookies, source_ip=self.source_ip, **kwargs)
        reply = Reply(self.load(route)(event, stack.LambdaContext(route.function, 10)))
        self.token = reply.headers.get("X-Cart-Session", self.token)
        if any(c.startswith("cart_session=;") for c in reply.cookies):
            self.token = None  # the browser drops a cookie set with Max-Age=0
        return reply

    @property
    def session_token(self) -> str:
        """The guest session token the API issued: the test fails here when it has issued none."""
        assert self.token, "the shopper has no guest session token"
        return self.token

    def merge(self) -> Reply:
        return self.call("POST", "/cart/merge")

    def get(self) -> Reply:
        return self.call("GET", "/cart")

    def add(self, product_id: str, quantity: int | None = 1, variant_id: str | None = None, **extra: Any) -> Reply:
        body: dict[str, Any] = {"productId": product_id, **extra}
        if quantity is not None:
            body["quantity"] = quantity
        if variant_id:
            body["variantId"] = variant_id
        return self.call("POST", "/cart/items", body=body)

    def update(self, item_id: str, **body: Any) -> Reply:
        return self.call("PATCH", "/cart/items/{itemId}", path_params={"itemId": item_id}, body=body)

    def remove(self, item_id: str) -> Reply:
        return self.call("DELETE", "/cart/items/{itemId}", path_params={"itemId": item_id})

    def clear(self) -> Reply:
        return self.call("DELETE", "/cart")


@pytest.fixture
def shopper() -> Shopper:
    return Shopper()


@pytest.fixture
def other_shopper() -> Shopper:
    return Shopper()


@dataclass
class User:
    email: str
    password: str
    sub: str
    tokens: dict[str, Any]

    @property
    def access_token(self) -> str:
        return self.tokens["AccessToken"]

    @property
    def id_token(self) -> str:
        return self.tokens["IdToken"]


@pytest.fixture
def make_user(cognito: local_cognito.LocalCognito):
    """A confirmed Cognito user of the local pool, signed in."""

    def make() -> User:
        email, password = f"shopper-{uuid.uuid4().hex[:10]}@example.com", "Correct-horse-9"
        sub = cognito.sign_up(email, password)
        return User(email, password, sub, cognito.sign_in(email, password))

    return make


@pytest.fixture
def user(make_user) -> User:
    return make_user()


@pytest.fixture(scope="session")
def admin(cognito: local_cognito.LocalCognito) -> User:
    """A user of the local pool in the Cognito group "admin", signed in after joining it."""
    client = cognito.client()
    with contextlib.suppress(client.exceptions.GroupExistsException):  # another run made it
        client.create_group(GroupName="admin", UserPoolId=cognito.user_pool_id)
    email, password = f"admin-{uuid.uuid4().hex[:8]}@example.com", "Correct-horse-9"
    sub = cognito.sign_up(email, password)
    client.admin_add_user_to_group(UserPoolId=cognito.user_pool_id, Username=email, GroupName="admin")
    return User(email, password, sub, cognito.sign_in(email, password))


# --- the functions' log lines ------------------------------------------------------------------


class Lines(logging.Handler):
    """Every record of the functions' logger, formatted by Powertools' own formatter: the JSON line
    CloudWatch Logs would receive, correlation id included."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[dict[str, Any]] = []
        self.text: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = app_logger.registered_formatter.format(record)
        self.text.append(line)
        self.lines.append(json.loads(line))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("oplog") == kind]

    def operation(self) -> dict[str, Any]:
        """The one operation line written since the last ``clear``."""
        (line,) = self.of("operation")
        return line

    def clear(self) -> None:
        self.lines.clear()
        self.text.clear()


@pytest.fixture
def logged() -> Iterator[Lines]:
    lines = Lines()
    python_logger = logging.getLogger("cart-api")
    python_logger.addHandler(lines)
    try:
        yield lines
    finally:
        python_logger.removeHandler(lines)
