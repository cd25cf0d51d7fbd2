"""Apply the forward-only SQL migrations in ``db/migrations`` (and, with ``--demo``, the demo catalog
when the catalog is empty).

Run it from a machine that can reach the database (``make migrate``), or deploy it as the
``MigrateFunction`` Lambda, which runs inside the VPC and takes its credentials from the same secret
as the cart functions. Each migration runs in its own transaction and is recorded in
``schema_migrations``; an advisory lock makes concurrent runs wait for each other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MIGRATIONS = HERE / "migrations"
DEMO_CATALOG = HERE / "demo_catalog.sql"
_LOCK_ID = 0x6361727431  # "cart1"

if __package__ in (None, "") and str(HERE.parent / "layers" / "common") not in sys.path:
    sys.path.insert(0, str(HERE.parent / "layers" / "common"))  # run as a script from a checkout


def migrate(conn: Any, *, demo: bool = False) -> list[str]:
    """Apply what is missing; return the names applied."""
    from psycopg.rows import tuple_row

    applied: list[str] = []
    cur = conn.cursor(row_factory=tuple_row)
    with conn.transaction():
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
    return applied


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The MigrateFunction: ``{"demo": true}`` also loads the demo catalog into an empty catalog."""
    from cart_common.db import connect

    with connect() as conn:
        return {"applied": migrate(conn, demo=bool((event or {}).get("demo")))}


def main() -> None:
    import os

    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--demo", action="store_true", help="load the demo catalog when the catalog is empty")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url")
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        applied = migrate(conn, demo=args.demo)
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


if __name__ == "__main__":
    main()
