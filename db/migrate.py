"""Apply the forward-only SQL migrations in ``db/migrations`` (and, with ``--demo``, the demo catalog
when the catalog is empty).

Run it from a machine that can reach the database (``make migrate``), or deploy it as the
``MigrateFunction`` Lambda, which runs inside the VPC with the cart functions' database access. On
AWS it runs on every deploy as the ``Migrations`` custom resource (CloudFormation's request, answered
on its pre-signed URL), before any function's new version exists. The migrations run in one
transaction, with their own statement timeout (``MIGRATION_STATEMENT_TIMEOUT_MS``, not the API's
5 s); each is recorded in ``schema_migrations``, so a re-run applies nothing twice, and an advisory
lock makes concurrent runs wait for each other.
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from pathlib import Path
from typing import Any

from app_role import AppRole, ensure_app_role, set_statement_timeout

HERE = Path(__file__).resolve().parent
MIGRATIONS = HERE / "migrations"
DEMO_CATALOG = HERE / "demo_catalog.sql"
_LOCK_ID = 0x6361727431  # "cart1"


def migrate(
    conn: Any,
    *,
    demo: bool = False,
    statement_timeout_ms: int | None = None,
    app_role: AppRole | None = None,
    api_statement_timeout_ms: int | None = None,
) -> list[str]:
    """Apply what is missing; return the names applied. ``statement_timeout_ms`` replaces the
    connection's statement timeout for this transaction (0: none). Then ``app_role`` is created or
    updated (db/app_role.py); without one, ``api_statement_timeout_ms`` becomes this user's own statement
    timeout in this database (the API signs in as this user then)."""
    from psycopg.rows import tuple_row

    applied: list[str] = []
    cur = conn.cursor(row_factory=tuple_row)
    with conn.transaction():
        if statement_timeout_ms is not None:
            cur.execute("select set_config('statement_timeout', %s, true)", (str(statement_timeout_ms),))
        cur.execute("select pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        cur.execute(
            "create table if not exists schema_migrations ("
            " version text primary key, applied_at timestamptz not null default now())"
        )
        done = {version for (version,) in cur.execute("select version from schema_migrations")}
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.name in done:
                continue
            cur.execute(path.read_text())
            cur.execute("insert into schema_migrations (version) values (%s)", (path.name,))
            applied.append(path.name)
        if demo:
            (empty,) = cur.execute("select not exists (select 1 from product)").fetchone()
            if empty:
                cur.execute(DEMO_CATALOG.read_text())
                applied.append(DEMO_CATALOG.name)
        if app_role is not None:
            ensure_app_role(conn, app_role)
        elif api_statement_timeout_ms is not None:
            set_statement_timeout(conn, conn.info.user, api_statement_timeout_ms)
    return applied


# Seconds kept back from the Lambda timeout, so a migration that runs out of time still reports
# its failure to CloudFormation (which would otherwise wait an hour for an answer).
_REPORT_MARGIN_MS = 30_000


def _statement_timeout_ms(context: Any) -> int:
    from cart_common.config import get_settings

    configured = get_settings().migration_statement_timeout_ms
    remaining = context.get_remaining_time_in_millis() - _REPORT_MARGIN_MS if context else configured
    return max(1000, min(configured, remaining))


def _app_role() -> AppRole | None:
    """The application role named by APP_DB_SECRET_ARN's secret, with the API's statement timeout."""
    from cart_common.config import get_settings

    settings = get_settings()
    if not settings.app_db_secret_arn:
        return None
    from aws_lambda_powertools.utilities import parameters

    secret = parameters.get_secret(settings.app_db_secret_arn, transform="json", max_age=0)
    return AppRole(secret["username"], secret["password"], settings.db_statement_timeout_ms)


def _apply(event: dict[str, Any], context: Any) -> list[str]:
    from cart_common.config import get_settings
    from cart_common.db import connect

    with connect() as conn:
        return migrate(
            conn,
            demo=bool(event.get("demo")),
            statement_timeout_ms=_statement_timeout_ms(context),
            app_role=_app_role(),
            api_statement_timeout_ms=get_settings().db_statement_timeout_ms,
        )


def _respond(event: dict[str, Any], status: str, reason: str, data: dict[str, str]) -> None:
    """CloudFormation's custom-resource answer: a PUT of this JSON to the request's pre-signed S3 URL.
    (The cfn-response module exists only for inline code, and crhelper imports boto3, which the
    layer leaves to the runtime, at import: the protocol is this one request.)"""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId") or "cart-api-migrations",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's https URL (http only in tests)
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()


def _version_number(version: Any) -> int | None:
    """N of a Lambda version ARN (``arn:aws:lambda:…:function:name:N``) or of a bare ``N``; None for
    anything else ($LATEST, an alias, nothing)."""
    tail = str(version or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdecimal() else None


def _rollback_to(event: dict[str, Any]) -> tuple[int, int] | None:
    """(to, from) when this Update goes back to an older MigrateFunction version than the one the
    resource was last updated with: CloudFormation rolling a failed deploy back re-sends the old
    properties, while the alias still runs the new code."""
    if event.get("RequestType") != "Update":
        return None
    new = _version_number((event.get("ResourceProperties") or {}).get("Version"))
    old = _version_number((event.get("OldResourceProperties") or {}).get("Version"))
    return (new, old) if new is not None and old is not None and new < old else None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The MigrateFunction. As the ``Migrations`` custom resource: Create and Update apply the
    migrations (a failure fails the deploy, which rolls back); an Update back to an older version
    (that rollback) and Delete answer SUCCESS and leave the schema as it is. Invoked directly:
    ``{"demo": true}`` also loads the demo catalog into an empty catalog."""
    from cart_common.api import logger  # the layer's one Powertools Logger (JSON lines, no events logged)

    event = event or {}
    if "RequestType" not in event:
        return {"applied": _apply(event, context)}
    if event["RequestType"] == "Delete":
        _respond(event, "SUCCESS", "The schema is kept when the stack or resource goes", {"Applied": ""})
        return {"applied": []}
    rollback = _rollback_to(event)
    if rollback is not None:
        # Migrating again would re-run what just failed (UPDATE_ROLLBACK_FAILED); and the schema is
        # forward-only: what the newer version applied stays, and the older code runs on it.
        reason = (
            f"Rollback from version {rollback[1]} to {rollback[0]}: nothing migrated (the schema is forward-only; "
            "what was applied stays)"
        )
        logger.info("Migrations rollback answered without migrating", extra={"to": rollback[0], "from": rollback[1]})
        _respond(event, "SUCCESS", reason, {"Applied": ""})
        return {"applied": []}
    try:
        applied = _apply({}, context)
    except Exception as exc:
        logger.exception("Migrations failed")
        _respond(event, "FAILED", f"Migrations failed: {type(exc).__name__}: {exc}", {})
        return {"error": type(exc).__name__}
    logger.info("Migrations applied", extra={"applied": applied})
    _respond(event, "SUCCESS", f"applied {len(applied)}", {"Applied": ",".join(applied)})
    return {"applied": applied}


def main() -> None:
    import os

    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--demo", action="store_true", help="load the demo catalog when the catalog is empty")
    parser.add_argument("--app-role", help="create or update this application role (db/app_role.py)")
    parser.add_argument("--app-password", default=os.environ.get("APP_DB_PASSWORD"), help="its password")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url")
    from cart_common.config import get_settings

    settings = get_settings()
    role = AppRole(args.app_role, args.app_password, settings.db_statement_timeout_ms) if args.app_role else None
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        timeout_ms = settings.migration_statement_timeout_ms
        applied = migrate(conn, demo=args.demo, statement_timeout_ms=timeout_ms, app_role=role)
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


if __name__ == "__main__":
    main()
