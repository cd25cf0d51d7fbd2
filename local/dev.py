"""``make dev``: PostgreSQL (embedded unless DATABASE_URL is set), migrations, the demo catalog when
the catalog is empty, and the API on http://127.0.0.1:3000 (``PORT`` overrides)."""

from __future__ import annotations

import os
import secrets
import signal
import sys
from pathlib import Path

from werkzeug.serving import run_simple

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common"), str(ROOT / "db")]

from local import postgres, stack  # noqa: E402

DEV_KEY_FILE = ROOT / ".local" / "session-signing-key"


def embedded_database_url(name: str = "cart") -> str:
    """A database called ``name`` on the embedded server, created on first use."""
    import psycopg

    server = postgres.embedded_server()
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(f'create database "{name}"')
    return server.get_uri(name)


def dev_signing_key() -> str:
    """A per-checkout key, so guest sessions survive restarts of ``make dev``."""
    if not DEV_KEY_FILE.exists():
        DEV_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEV_KEY_FILE.write_text(secrets.token_urlsafe(48))
        DEV_KEY_FILE.chmod(0o600)
    return DEV_KEY_FILE.read_text().strip()


def prepare_environment() -> str:
    os.environ.setdefault("DATABASE_URL", embedded_database_url())
    os.environ.setdefault("SESSION_SIGNING_KEY", dev_signing_key())
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "cart-api")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CartApi")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF lines would drown the request log
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    return os.environ["DATABASE_URL"]


def main() -> None:
    import psycopg

    import migrate

    url = prepare_environment()
    with psycopg.connect(url, autocommit=True) as conn:
        applied = migrate.migrate(conn, demo=True)
    port = int(os.environ.get("PORT", "3000"))
    invoker = stack.make_invoker()
    app = stack.LocalApi(invoker, stack.dev_routes())
    print(f"Database: {url}")
    print(f"Migrations applied: {', '.join(applied) or 'none (up to date)'}")
    print(f"Cart API: http://127.0.0.1:{port}  (catalog: /products, OpenAPI: /openapi.json)")
    for route in app.routes:
        print(f"  {route.method:6} {route.path:28} -> {route.function}")
    # SIGTERM (CI, process managers) stops the worker processes too, not just this one.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_simple("127.0.0.1", port, app, threaded=True)
    finally:
        invoker.close()


if __name__ == "__main__":
    main()
