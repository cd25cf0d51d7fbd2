"""The application role: what the API functions sign in as (least privilege), kept by every migration run.

The migrations run as the database's owner (the master user in AWS). The functions sign in as an
application role that may only read and change rows: no DDL, no role or database administration. Every
run of the migrations (re)applies, idempotently:

- the role itself (LOGIN), and its password when one is given: sent as a SCRAM-SHA-256 verifier computed
  here (libpq's PQencryptPasswordConn, as psql's \\password does), so the clear password never reaches the
  server or its statement log;
- CONNECT on this database, USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on every table, USAGE/SELECT
  on every sequence, EXECUTE on every function, and the same by default for what later migrations create;
- the API's statement timeout as the role's own setting in this database (``ALTER ROLE … IN DATABASE …
  SET statement_timeout``). A connection cannot send it at startup (RDS Proxy refuses the ``options``
  startup parameter) nor with a session ``SET`` (which pins the connection to one server session), so the
  server applies it to every session a proxy opens for the role. A changed DB_STATEMENT_TIMEOUT_MS reaches
  the sessions a proxy opens after the next migration run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql


@dataclass(frozen=True)
class AppRole:
    """The role the API signs in as; ``password`` None leaves the role's password as it is."""

    name: str
    password: str | None = None
    statement_timeout_ms: int = 5000


def ensure_app_role(conn: Any, role: AppRole) -> None:
    """Create or update ``role`` with the API's privileges on this database (inside the caller's
    transaction: the migrations' advisory lock serialises concurrent runs)."""
    name = sql.Identifier(role.name)
    cur = conn.cursor()
    # CREATE ROLE has no IF NOT EXISTS; roles are cluster-wide, so another database's run may have
    # made it between the check and the create: duplicate_object then means it exists.
    cur.execute(
        sql.SQL("do $$ begin create role {} login; exception when duplicate_object then null; end $$").format(name)
    )
    cur.execute(sql.SQL("alter role {} login nosuperuser nocreatedb nocreaterole noinherit").format(name))
    if role.password is not None:
        verifier = conn.pgconn.encrypt_password(role.password.encode(), role.name.encode(), b"scram-sha-256")
        cur.execute(sql.SQL("alter role {} password {}").format(name, sql.Literal(verifier.decode())))
    database = sql.Identifier(conn.info.dbname)
    for grant in (
        "grant connect on database {db} to {role}",
        "grant usage on schema public to {role}",
        "grant select, insert, update, delete on all tables in schema public to {role}",
        "grant usage, select on all sequences in schema public to {role}",
        "grant execute on all functions in schema public to {role}",
        "alter default privileges in schema public grant select, insert, update, delete on tables to {role}",
        "alter default privileges in schema public grant usage, select on sequences to {role}",
        "alter default privileges in schema public grant execute on functions to {role}",
        # The migrations' own bookkeeping is the owner's alone.
        "revoke all on table schema_migrations from {role}",
    ):
        cur.execute(sql.SQL(grant).format(db=database, role=name))
    set_statement_timeout(conn, role.name, role.statement_timeout_ms)


def set_statement_timeout(conn: Any, role: str, timeout_ms: int) -> None:
    """``role``'s statement timeout in this database, for every session opened after it."""
    conn.execute(
        sql.SQL("alter role {} in database {} set statement_timeout = {}").format(
            sql.Identifier(role), sql.Identifier(conn.info.dbname), sql.Literal(f"{int(timeout_ms)}ms")
        )
    )
