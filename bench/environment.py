"""The run's environment, shared by every section: the cart rules the bench runs under, the scratch
database it makes (and drops), and the products and guest owners the sections work on. It exists so
that the clients, the sections and the report agree on one set of rules and one database."""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path
from typing import Any

import psycopg

import migrate
from app_role import AppRole, ensure_app_role
from cart_common.config import Limits
from local import pgbouncer, postgres
from local.pgbouncer import PgBouncer

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ("get", "add", "update", "remove", "clear", "validate", "merge", "checkout")
# The bench environment's cart rules: the defaults, except room for the 500-line cart.
MAX_LINES_PER_CART = 1000
MAX_LINE, GUEST_TTL, USER_TTL = 99, 30, 90
LIMITS = Limits(MAX_LINE, MAX_LINES_PER_CART, max_value=10_000_000)


def bench_database() -> tuple[str, str]:
    server = os.environ.get("DATABASE_URL") or postgres.embedded_server().get_uri()
    name = f"cart_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(server) | {"dbname": name}
    url = psycopg.conninfo.make_conninfo("", **info)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate.migrate(conn, demo=True)
    return server, url


def api_connection(url: str, *, proxy: bool) -> tuple[str, PgBouncer | None]:
    """Where the floor and the handlers connect, as in AWS: as the application role (db/app_role.py),
    through PgBouncer in transaction mode when ``proxy`` (RDS Proxy's place), else straight to ``url``'s
    server; and that PgBouncer, to stop."""
    password = secrets.token_urlsafe(24)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        ensure_app_role(conn, AppRole(pgbouncer.APP_ROLE, password))
    return pgbouncer.api_database(url, password, proxy=proxy)


def drop_database(server: str, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (name,))
        admin.execute(f'drop database if exists "{name}"')


def make_products(url: str, count: int) -> list[str]:
    """``count`` products of the bench's own (price 10.00 USD, ample stock, no variants)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "insert into product (name, slug, price, currency, stock)"
            " select 'Bench ' || g, %s || g, 1000, 'USD', 1000000 from generate_series(1, %s) g returning id",
            (f"bench-{uuid.uuid4().hex[:8]}-", count),
        ).fetchall()
    return [str(row[0]) for row in rows]


def guest_owner(token: str) -> Any:
    from cart_common.session import Owner, hash_token

    return Owner("guest", hash_token(token))


def scalar(conn: psycopg.Connection[Any], query: str, params: tuple = ()) -> Any:
    """The one value of a query that returns one row (untimed set-up and bookkeeping)."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row[0]


def cart_id(url: str, token: str) -> str:
    with psycopg.connect(url) as conn:
        return str(
            scalar(conn, "select id from cart where session_id = %s and status = 'active'", (guest_owner(token).key,))
        )


def fill_carts(conn: psycopg.Connection[Any], count: int, *, spread_days: int = 0) -> int:
    """The scaling database: dummy active guest carts (no lines, random 64-hex session keys, as real
    ones are) added with one ``insert ... select ... from generate_series`` until ``conn``'s database
    holds ``count``, then ``analyze``; created (and last changed) at random over the last
    ``spread_days`` days (0: now). Returns how many it added."""
    # The owner may carry the API's statement timeout in this database (the MigrateFunction's cold
    # start sets it when no application role is named): a million rows take longer.
    conn.execute("select set_config('statement_timeout', '0', false)")
    missing = max(0, count - scalar(conn, "select count(*) from cart"))
    conn.execute(
        "insert into cart (session_id, currency, expires_at, created_at, updated_at, last_activity_at)"
        " select md5(random()::text || g) || md5(random()::text || g), 'USD', now() + interval '30 days', t, t, t"
        " from (select g, now() - random() * %s * interval '1 day' as t from generate_series(1, %s) g) x",
        (spread_days, missing),
    )
    conn.execute("analyze cart")
    return missing
