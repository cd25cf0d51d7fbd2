"""One PostgreSQL connection per execution environment: opened lazily, reused across invocations,
reconnected once when the server dropped it.

``prepare_threshold=None`` keeps psycopg from creating named server-side prepared statements, which
RDS Proxy would answer by pinning the connection to one client.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from cart_common.config import Settings, get_settings
from cart_common.errors import DatabaseUnavailable, Problem, ValidationFailed

T = TypeVar("T")
Statement = tuple[sql.Composable | str, dict[str, Any]]


class _AbortedPipelineNoise(logging.Filter):
    """A statement that stops itself with ``raise_problem`` aborts the rest of its pipeline, and
    psycopg then logs a warning for the pipeline it could not close cleanly while the problem
    propagates: expected control flow here (a 4xx), not something for the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == "error ignored terminating %r: %s" and "pipeline aborted" in str(record.args))


logging.getLogger("psycopg").addFilter(_AbortedPipelineNoise())

# SQLSTATEs that say the server ended the session before it read our statement, so trying again on a
# new connection cannot apply a change twice: admin_shutdown (pg_terminate_backend, RDS Proxy or
# failover), crash_shutdown, cannot_connect_now.
_SESSION_ENDED = {"57P01", "57P02", "57P03"}


def _credentials(settings: Settings, refresh: bool) -> dict[str, str]:
    # Imported here so only a cold start that really reads the secret pays for boto3.
    from aws_lambda_powertools.utilities import parameters

    secret = parameters.get_secret(settings.db_secret_arn, transform="json", max_age=300, force_fetch=refresh)
    return {"user": secret["username"], "password": secret["password"]}


def connect(settings: Settings | None = None, *, refresh_credentials: bool = False) -> psycopg.Connection:
    settings = settings or get_settings()
    options = {
        "autocommit": True,
        "prepare_threshold": None,
        "row_factory": dict_row,
        "connect_timeout": settings.db_connect_timeout_s,
        "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
        "application_name": "cart-api",
    }
    if settings.database_url:
        return psycopg.connect(settings.database_url, **options)
    if not (settings.db_host and settings.db_secret_arn):
        raise RuntimeError("Set DATABASE_URL, or DB_HOST and DB_SECRET_ARN")
    return psycopg.connect(
        host=settings.db_host,
        port=settings.db_port,
        dbname=settings.db_name,
        sslmode=settings.db_sslmode,
        **_credentials(settings, refresh_credentials),
        **options,
    )


def _cart_problem(exc: psycopg.errors.RaiseException) -> Problem | None:
    """A rule that a statement checked itself (``raise_problem`` in SQL) as its typed error."""
    if exc.diag.message_hint != "cart_problem" or not exc.diag.message_primary:
        return None
    extensions = json.loads(exc.diag.message_detail or "{}")
    return Problem.from_code(exc.diag.message_primary, extensions)


# Statements waiting to travel at the front of a connection's next pipeline (e.g. BEGIN and an
# idempotency-key claim, or the ROLLBACK after a failed explicit transaction), so they cost no
# round trip of their own.
# A queued statement may name a list that receives its rows (a rate limit's, for the headers).
_queued: weakref.WeakKeyDictionary[psycopg.Connection, list[tuple[Statement, list[Any] | None]]] = (
    weakref.WeakKeyDictionary()
)


def queue(conn: psycopg.Connection, statements: Sequence[Statement], *, rows: list[Any] | None = None) -> None:
    """``statements`` go first in ``conn``'s next pipeline; their rows are added to ``rows``."""
    _queued.setdefault(conn, []).extend((statement, rows) for statement in statements)


def discard_queue(conn: psycopg.Connection) -> None:
    _queued.pop(conn, None)


def pipeline(conn: psycopg.Connection, statements: Sequence[Statement]) -> list[list[dict[str, Any]]]:
    """Run statements in one round trip and one implicit transaction (psycopg pipeline mode: a
    single Sync at the end, so if one statement fails none of them is committed); return each one's
    rows. Queued statements go first; their rows are not returned."""
    leading = _queued.pop(conn, [])
    cursors = []
    with conn.pipeline():
        for query, params in [*(statement for statement, _ in leading), *statements]:
            cursor = conn.cursor()
            cursor.execute(query, params)
            cursors.append(cursor)
    results: list[list[Any]] = [cursor.fetchall() if cursor.description else [] for cursor in cursors]
    for (_, sink), rows in zip(leading, results, strict=False):
        if sink is not None:
            sink.extend(rows)
    return results[len(leading) :]


def exactly_once(
    conn: psycopg.Connection,
    first: Sequence[Statement],
    work: Callable[[psycopg.Connection], T],
    last: Callable[[T], Sequence[Statement]],
) -> T:
    """``work`` in one explicit transaction that starts with ``first`` and ends with ``last(result)``:
    BEGIN and ``first`` travel with work's first round trip, ``last`` and COMMIT make one more."""
    queue(conn, [("begin", {}), *first])
    try:
        result = work(conn)
        pipeline(conn, [*last(result), ("commit", {})])
    except BaseException:
        discard_queue(conn)
        if conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            queue(conn, [("rollback", {})])  # travels with this connection's next statements
        raise
    return result


class Database:
    def __init__(self, connector: Callable[..., psycopg.Connection] = connect) -> None:
        self._connector = connector
        self._conn: psycopg.Connection | None = None
        # The local HTTP stack serves threads from one process; Lambda runs one request at a time.
        self._lock = threading.Lock()

    def connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = self._connector()
            except psycopg.errors.InvalidPassword:
                # The secret may have been rotated since we cached it.
                self._conn = self._connector(refresh_credentials=True)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def run(self, work: Callable[[psycopg.Connection], T]) -> T:
        """Run ``work`` on this environment's connection, once more on a new connection when the
        server had already ended the old one; map database failures to typed problems."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    return work(self.connection())
                except psycopg.errors.RaiseException as exc:
                    problem = _cart_problem(exc)
                    if problem is None:
                        raise
                    raise problem from None
                except (psycopg.errors.UntranslatableCharacter, psycopg.errors.CharacterNotInRepertoire) as exc:
                    # Text PostgreSQL cannot store (a NUL that slipped past validation): the
                    # client's input, so a 4xx, never a 500.
                    raise ValidationFailed("A text field holds characters that cannot be stored") from exc
                except psycopg.OperationalError as exc:
                    broken = self._conn is None or self._conn.broken or self._conn.closed
                    if broken:
                        self.close()
                    if attempt == 1 and broken and (exc.sqlstate in _SESSION_ENDED or exc.sqlstate is None):
                        continue
                    raise DatabaseUnavailable() from exc
            raise AssertionError("unreachable")


_database: Database | None = None


def get_database() -> Database:
    global _database
    if _database is None:
        _database = Database()
    return _database
