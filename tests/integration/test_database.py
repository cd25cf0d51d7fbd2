"""Database access: one round trip per operation (counted on the wire), reconnection, outages and
timeouts as 503 problems, credentials and signing keys from Secrets Manager / SSM (moto)."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from psycopg.rows import DictRow

from cart_common.db import Database, connect, get_database
from tests.conftest import MUG, POSTER, Shopper, api_statement_timeout, one


def round_trips(action: Callable[[], object]) -> int:
    """Server round trips ``action`` made on the function's connection, read from libpq's protocol
    trace: each one ends with the server's ReadyForQuery."""
    conn = get_database().connection()
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        try:
            action()
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        return sum(1 for line in trace if "\tB\t" in line and "ReadyForQuery" in line)


def test_every_cart_operation_is_one_round_trip(shopper: Shopper) -> None:
    shopper.add(POSTER)  # the connection exists and the cart too
    item = lambda: shopper.get().json["items"][0]["id"]  # noqa: E731
    assert round_trips(shopper.get) == 1
    assert round_trips(lambda: shopper.add(MUG, 2)) == 1
    mug = next(i["id"] for i in shopper.get().json["items"] if i["productId"] == MUG)
    assert round_trips(lambda: shopper.update(mug, quantity=3)) == 1
    assert round_trips(lambda: shopper.remove(mug)) == 1
    assert round_trips(lambda: shopper.update(item(), quantity=99)) == 1 + 1  # refused (409), plus the read
    assert round_trips(shopper.clear) == 1


def test_a_new_visitors_read_costs_no_round_trip() -> None:
    Shopper().get()  # make sure the connection is open
    assert round_trips(Shopper().get) == 0


def _kill_function_connections(sql: psycopg.Connection[DictRow]) -> int:
    return len(
        sql.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where application_name = 'cart-api' and datname = current_database() and pid <> pg_backend_pid()"
        ).fetchall()
    )


def test_a_connection_the_proxy_closed_between_invocations_is_replaced(shopper: Shopper, proxy, database_url) -> None:
    """RDS Proxy closes a client connection idle for IdleClientTimeout (and on a failover): the
    next invocation finds its connection gone and opens another."""
    shopper.add(MUG, 1)
    dbname = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
    proxy.admin(f"KILL {dbname}")  # every client and server connection of the database
    proxy.admin(f"RESUME {dbname}")
    reply = shopper.add(MUG, 1)
    assert reply.status == 200, reply
    assert reply.json["items"][0]["quantity"] == 2  # applied exactly once


def test_server_sessions_killed_between_invocations_are_replaced(shopper: Shopper, sql, proxy) -> None:
    shopper.add(MUG, 1)
    killed = {row["pid"] for row in sql.execute(
        "select pid, pg_terminate_backend(pid) from pg_stat_activity"
        " where usename = 'cart_app' and datname = current_database()"
    ).fetchall()}  # fmt: skip
    assert killed
    # The proxy drops a server session it sees end (RDS Proxy likewise); wait until it has.
    deadline = time.monotonic() + 5
    while {int(row["remote_pid"] or 0) for row in proxy.admin("SHOW SERVERS")} & killed:
        assert time.monotonic() < deadline, "PgBouncer still holds a killed server session"
        time.sleep(0.01)
    reply = shopper.add(MUG, 1)
    assert reply.status == 200, reply
    assert reply.json["items"][0]["quantity"] == 2  # applied exactly once


def test_a_server_session_killed_mid_pipeline_behind_the_proxy_is_replaced_and_applied_once(
    shopper: Shopper, sql: psycopg.Connection[DictRow], database_url: str
) -> None:
    """The server ends the add's session while its pipeline waits on a row lock. PgBouncer (as RDS
    Proxy) passes the server's FATAL 57P01 on but keeps the client connection open, so psycopg raises
    "cannot exit pipeline mode while busy" from the pipeline's exit, the FATAL only in its context,
    with the connection not yet ``broken``: it must still be recognised as ended, replaced, and the
    add applied once (the killed transaction committed nothing)."""
    shopper.add(MUG, 1)
    cart_id = shopper.get().json["id"]
    with psycopg.connect(database_url) as holder, ThreadPoolExecutor(1) as pool:
        holder.execute("select 1 from cart where id = %s for update", (cart_id,))  # held until rollback
        adding = pool.submit(shopper.add, MUG, 1)
        deadline = time.monotonic() + 10
        waiting: list[Any] = []
        while not waiting:
            assert time.monotonic() < deadline and not adding.done(), "the add never waited on the cart's lock"
            time.sleep(0.01)
            waiting = sql.execute(
                "select pid from pg_stat_activity where usename = 'cart_app'"
                " and datname = current_database() and wait_event_type = 'Lock'"
            ).fetchall()
        (killed,) = waiting
        assert one(sql.execute("select pg_terminate_backend(%s) as ok", (killed["pid"],)))["ok"]
        holder.rollback()  # the retry, on a new server session, goes through
        reply = adding.result(timeout=30)
    assert reply.status == 200, reply.json
    assert reply.json["items"][0]["quantity"] == 2  # applied exactly once


def test_an_unreachable_database_is_503_with_retry_after(fresh_settings, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/cart?connect_timeout=1")
    shopper = Shopper()
    reply = shopper.add(MUG)
    assert reply.status == 503
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reply.headers["Retry-After"] == "1"
    assert reply.json["code"] == "database_unavailable"
    assert "Traceback" not in json.dumps(reply.json)


def test_a_statement_timeout_is_503_and_the_next_request_succeeds(fresh_settings, database_url, proxy) -> None:
    shopper = Shopper()
    shopper.add(MUG)
    cart_id = shopper.get().json["id"]
    with (
        api_statement_timeout(database_url, proxy, 200),
        psycopg.connect(database_url) as blocker,  # holds the cart row lock in an open transaction
    ):
        blocker.execute("select 1 from cart where id = %s for update", (cart_id,))
        started = time.monotonic()
        reply = shopper.add(MUG)
        assert reply.status == 503 and reply.json["code"] == "database_unavailable"
        assert time.monotonic() - started < 2  # the role's 200 ms, not the default 5 s
        blocker.rollback()
    assert shopper.add(MUG).json["items"][0]["quantity"] == 2


@pytest.fixture
def aws(fresh_settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from aws_lambda_powertools.utilities import parameters

    with mock_aws():
        parameters.clear_caches()
        yield
        parameters.clear_caches()


def test_database_credentials_come_from_secrets_manager(aws, monkeypatch, database_url) -> None:
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    secret = boto3.client("secretsmanager").create_secret(
        Name=f"cart-db-{uuid.uuid4().hex}", SecretString=json.dumps({"username": "postgres", "password": "unused"})
    )
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("DB_HOST", info["host"])  # the embedded server's socket directory
    monkeypatch.setenv("DB_NAME", info["dbname"])
    monkeypatch.setenv("DB_SECRET_ARN", secret["ARN"])
    monkeypatch.setenv("DB_SSLMODE", "disable")
    shopper = Shopper()
    assert shopper.add(MUG, 2).json["itemCount"] == 2
    assert get_database().connection().info.user == "postgres"


def test_the_signing_key_can_come_from_secrets_manager(aws, monkeypatch) -> None:
    key = "k" * 48
    secret = boto3.client("secretsmanager").create_secret(Name=f"cart-key-{uuid.uuid4().hex}", SecretString=key)
    monkeypatch.delenv("SESSION_SIGNING_KEY")
    monkeypatch.setenv("SESSION_KEY_SECRET_ARN", secret["ARN"])
    shopper = Shopper()
    shopper.add(MUG, 2)
    assert shopper.get().json["itemCount"] == 2  # the token verifies under the fetched key


def test_the_signing_key_can_come_from_ssm_and_rotate(aws, monkeypatch) -> None:
    ssm = boto3.client("ssm")
    name = f"/cart/session-key-{uuid.uuid4().hex}"
    old, new = "o" * 40, "n" * 40
    ssm.put_parameter(Name=name, Value=old, Type="SecureString")
    monkeypatch.delenv("SESSION_SIGNING_KEY")
    monkeypatch.setenv("SESSION_KEY_PARAMETER", name)
    shopper = Shopper()
    shopper.add(MUG, 1)
    token = shopper.token

    from aws_lambda_powertools.utilities import parameters

    from cart_common import session

    def reload_key(value: str) -> None:
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        parameters.clear_caches()
        session.forget_keys()

    reload_key(f"{new},{old}")  # rotation: sign with the new key, still accept the old
    assert shopper.get().json["itemCount"] == 1 and shopper.token == token
    reload_key(new)  # the old key retired: its tokens are no longer accepted
    assert shopper.get().json["itemCount"] == 0 and shopper.token != token


def test_the_migrations_are_recorded_and_idempotent(database_url) -> None:
    import migrate

    with psycopg.connect(database_url, autocommit=True) as conn:
        assert migrate.migrate(conn, demo=True) == []  # already applied; the catalog is not empty
        versions = [v for (v,) in conn.execute("select version from schema_migrations order by version")]
    assert versions == sorted(p.name for p in Path(migrate.MIGRATIONS).glob("*.sql"))


def test_a_rotated_database_password_is_fetched_again_once(database_url) -> None:
    """The cached secret is stale after a rotation: the first connect fails with InvalidPassword,
    and the connection is opened again with the secret re-read (refresh_credentials)."""
    calls: list[bool] = []

    def connector(refresh_credentials: bool = False) -> psycopg.Connection:
        calls.append(refresh_credentials)
        if not refresh_credentials:
            raise psycopg.errors.InvalidPassword("password authentication failed")
        return connect()

    database = Database(connector)
    try:

        def select_one(conn: psycopg.Connection[Any]) -> Any:
            # the layer's connections make dict rows (dict_row), though it types them psycopg.Connection
            return one(conn.execute("select 1 as one"))["one"]

        assert database.run(select_one) == 1
    finally:
        database.close()
    assert calls == [False, True]


def test_logs_carry_the_http_api_request_id_as_correlation_id(shopper: Shopper) -> None:
    from cart_common.api import logger
    from local import stack
    from tests.conftest import http_event, routes

    route = routes()[("GET", "/cart")]
    event = http_event("GET", "/cart")
    stack.load_function(route)(event, stack.LambdaContext(route.function, 10))
    assert logger.get_correlation_id() == event["requestContext"]["requestId"]
