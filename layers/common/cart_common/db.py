"""One PostgreSQL connection per execution environment: opened lazily, reused across invocations,
reconnected once when the server dropped it.

What a connection may send, so that RDS Proxy (or any transaction-pooling proxy, PgBouncer locally)
accepts it and never pins it to one server session:

- Startup parameters only from RDS Proxy's list (``STARTUP_PARAMETERS``; Aurora User Guide, "Connecting
  to a database through RDS Proxy"): anything else, ``options`` above all, is refused with "Feature not
  supported: RDS Proxy currently doesn't support command-line options". So the API's statement timeout
  is not sent here: it is the application role's own setting in its database (``ALTER ROLE … IN
  DATABASE … SET statement_timeout``, applied by every migration run from DB_STATEMENT_TIMEOUT_MS,
  db/app_role.py), which every server session the proxy opens for that role starts with.
- No session state (Aurora User Guide, "Avoiding pinning an RDS Proxy"): ``prepare_threshold=None``
  keeps psycopg from creating named server-side prepared statements; no session ``SET``, no session
  advisory locks (only ``pg_advisory_xact_lock``), no ``LISTEN``, no temporary tables.
  tests/integration/test_proxy.py runs the API through PgBouncer with the server's statement log on
  and fails on any of them.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg import sql
from psycopg.abc import QueryNoTemplate
from psycopg.conninfo import make_conninfo
from psycopg.pq import ConnStatus, TransactionStatus
from psycopg.rows import dict_row

from cart_common.config import Settings, get_settings
from cart_common.errors import DatabaseUnavailable, Problem, ValidationFailed

# The Amazon Root CAs (certs/README): what RDS Proxy's certificates chain to, for verify-full.
CA_BUNDLE = Path(__file__).resolve().parent / "certs" / "amazon-root-ca.pem"
# The startup parameters RDS Proxy for PostgreSQL accepts; it refuses a connection that sends any other.
STARTUP_PARAMETERS = frozenset(
    {
        "user",
        "database",
        "replication",
        "application_name",
        "client_encoding",
        "DateStyle",
        "TimeZone",
        "extra_float_digits",
    }
)
Statement = tuple[sql.Composable | str, dict[str, Any]]


class _AbortedPipelineNoise(logging.Filter):
    """A statement that stops itself with ``raise_problem`` aborts the rest of its pipeline, and
    psycopg then logs a warning for the pipeline it could not close cleanly while the problem
    propagates: expected control flow here (a 4xx), not something for the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == "error ignored terminating %r: %s" and "pipeline aborted" in str(record.args))


logging.getLogger("psycopg").addFilter(_AbortedPipelineNoise())

# SQLSTATEs that say the server ended the session before it read our statement, or while one ran (the
# FATAL aborts its transaction; an unkeyed operation's implicit transaction commits only at the
# pipeline's Sync), so trying again on a new connection cannot apply a change twice: admin_shutdown
# (pg_terminate_backend, RDS Proxy or failover), crash_shutdown, cannot_connect_now. A keyed change
# (exactly_once) that did commit is replayed by its idempotency key on the retry, not applied again.
_SESSION_ENDED = {"57P01", "57P02", "57P03"}


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or while handling, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _ended_by_server(exc: BaseException) -> str | None:
    """The session-ended SQLSTATE anywhere in ``exc``'s chain. psycopg does not always raise the
    server's FATAL itself: when it arrives as a pipeline's result while the connection still reads as
    open (PgBouncer or RDS Proxy forwards the server's error but keeps the client connection), the
    pipeline's exit then fails with "cannot exit pipeline mode while busy" (no SQLSTATE, the
    connection neither ``broken`` nor ``closed``), raised while handling the FATAL."""
    for cause in _causes(exc):
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate in _SESSION_ENDED:
            return cast(str, sqlstate)
    return None


def _no_server_error(exc: BaseException) -> bool:
    """Nothing in ``exc``'s chain came from the server (no SQLSTATE): the connection failed under
    us (the server closed it, EOF, a reset)."""
    return all(getattr(cause, "sqlstate", None) is None for cause in _causes(exc))


@lru_cache(maxsize=1)
def _rds_client() -> Any:
    # Imported here so only a cold start that really signs in with IAM pays for boto3.
    import boto3

    return boto3.client("rds")


def _credentials(settings: Settings, refresh: bool) -> dict[str, str]:
    if settings.db_iam_auth:
        # A token signed locally with the function's role (no network call), valid for 15 minutes:
        # only the connection's sign-in needs it.
        token = _rds_client().generate_db_auth_token(
            DBHostname=settings.db_host, Port=settings.db_port, DBUsername=settings.db_user
        )
        return {"user": settings.db_user, "password": token}
    # Imported here so only a cold start that really reads the secret pays for boto3.
    from aws_lambda_powertools.utilities import parameters

    if not settings.db_secret_arn:
        raise RuntimeError("Set DB_SECRET_ARN (or DB_IAM_AUTH and DB_USER)")
    secret = parameters.get_secret(settings.db_secret_arn, transform="json", max_age=300, force_fetch=refresh)
    return {"user": secret["username"], "password": secret["password"]}


def tls_options(settings: Settings) -> dict[str, str]:
    """sslmode, and for verify-ca/verify-full the CA bundle the server's certificate must chain to."""
    options = {"sslmode": settings.db_sslmode}
    if settings.db_sslmode in ("verify-ca", "verify-full"):
        options["sslrootcert"] = settings.db_sslrootcert or str(CA_BUNDLE)
    return options


def connect(settings: Settings | None = None, *, refresh_credentials: bool = False) -> psycopg.Connection:
    settings = settings or get_settings()
    conninfo = settings.database_url
    if not conninfo:
        if not (settings.db_host and (settings.db_secret_arn or (settings.db_iam_auth and settings.db_user))):
            raise RuntimeError("Set DATABASE_URL, or DB_HOST and DB_SECRET_ARN (or DB_IAM_AUTH and DB_USER)")
        conninfo = make_conninfo(
            host=settings.db_host,
            port=settings.db_port,
            dbname=settings.db_name,
            **tls_options(settings),
            **_credentials(settings, refresh_credentials),
        )
    # Rows are dicts (dict_row); the layer passes the connection on untyped by row, as psycopg.Connection.
    return cast(
        psycopg.Connection,
        psycopg.connect(
            conninfo,
            autocommit=True,
            prepare_threshold=None,
            row_factory=dict_row,
            connect_timeout=settings.db_connect_timeout_s,
            application_name="cart-api",
        ),
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


def pipeline(
    conn: psycopg.Connection, statements: Sequence[Statement], *, reads_only: bool = False
) -> list[list[dict[str, Any]]]:
    """Run statements in one round trip and one implicit transaction (psycopg pipeline mode: a
    single Sync at the end, so if one statement fails none of them is committed); return each one's
    rows. Queued statements go first; their rows are not returned. The events the transaction
    wrote (its outbox rows) are read back by a last statement and published once it is committed
    (cart_common/events.py); ``reads_only`` statements write no event, so that statement is left out
    (it costs a read ~0.1 ms, bench/COMPARE.md)."""
    from cart_common import events, oplog  # the operations log counts the request's round trips

    oplog.count_round_trip()
    leading = _queued.pop(conn, [])
    # Published events' marks, until a pipeline commits them: after the queued statements (a ROLLBACK
    # must come first), before the caller's.
    marks = events.leading(conn)
    cursors = []
    with conn.pipeline():
        collect = [] if reads_only else [events.COLLECT]
        for query, params in [*(statement for statement, _ in leading), *marks, *statements, *collect]:
            cursor = conn.cursor()
            # Every statement is composed by the store (psycopg.sql) or is one of its own constants.
            cursor.execute(cast(QueryNoTemplate, query), params)
            cursors.append(cursor)
    results: list[list[Any]] = [cursor.fetchall() if cursor.description else [] for cursor in cursors]
    for (_, sink), rows in zip(leading, results, strict=False):
        if sink is not None:
            sink.extend(rows)
    results = results[len(leading) + len(marks) :]
    events.written(conn, [] if reads_only else results.pop())
    return results


def exactly_once[T](
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
        from cart_common import events

        events.rolled_back(conn)  # what the transaction wrote is not committed: nothing to publish
        if conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            queue(conn, [("rollback", {})])  # travels with this connection's next statements
        raise
    return result


def _count_unavailable() -> None:
    # The metric behind the DatabaseUnavailableAlarm; Powertools' Metrics share one metric set per
    # process, flushed by the function's entry point.
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    Metrics().add_metric(name="DatabaseUnavailable", unit=MetricUnit.Count, value=1)


# Every Database of this process, so a SnapStart restore can drop their connections.
_instances: weakref.WeakSet[Database] = weakref.WeakSet()


class Database:
    def __init__(self, connector: Callable[..., psycopg.Connection] = connect) -> None:
        self._connector = connector
        self._conn: psycopg.Connection | None = None
        # The local HTTP stack serves threads from one process; Lambda runs one request at a time.
        self._lock = threading.Lock()
        _instances.add(self)

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

    def end_request(self) -> None:
        """Leave no transaction open on this environment's connection when a request ends. A refused
        keyed change's ROLLBACK is queued to travel with the connection's next statements
        (``exactly_once``): free when the request reads again at once (a replay's stored response, a
        conflict's current cart), but otherwise those statements may come minutes later, and until
        then the transaction holds the row locks it took (the cart's; the catalog rows a checkout
        locks, which an administrator's price change and other shoppers' checkouts then wait on).
        So here it goes now: one round trip, on that path only."""
        with self._lock:
            conn = self._conn
            if conn is None or conn.closed:
                return
            if conn.info.transaction_status not in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
                return
            from cart_common import oplog

            discard_queue(conn)
            oplog.count_round_trip()
            try:
                conn.execute("rollback")
            except psycopg.Error:
                self.close()  # it cannot end the transaction, so it is closed: the server ends it

    def run[T](self, work: Callable[[psycopg.Connection], T]) -> T:
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
                    # Retried only when the session is over (the server said so, or the connection
                    # failed with no answer from the server) and so was the transaction: nothing
                    # else (a statement timeout, a lock wait) is tried again here.
                    ended = _ended_by_server(exc)
                    conn = self._conn
                    dead = (
                        conn is None
                        or conn.closed
                        or conn.broken
                        or conn.pgconn.status == ConnStatus.BAD
                        or ended is not None  # the server ended it, even if libpq has not read EOF yet
                    )
                    if dead:
                        self.close()
                    if attempt == 1 and dead and (ended is not None or _no_server_error(exc)):
                        from cart_common import oplog

                        oplog.reconnect(exc, ended or exc.sqlstate)
                        continue
                    _count_unavailable()
                    raise DatabaseUnavailable() from exc
            raise AssertionError("unreachable")


_database: Database | None = None


def get_database() -> Database:
    global _database
    if _database is None:
        _database = Database()
    return _database


# --- Lambda SnapStart ----------------------------------------------------------------------------
# A published version's execution environment is snapshotted after init and restored, maybe many
# times, into new environments. Nothing of a connection survives that (its socket, its TLS session, an
# IAM token's clock), and every restored copy would draw the same numbers from ``random``'s captured
# state. ``secrets`` and ``uuid.uuid4`` (guest tokens, ids) read the OS's randomness on every call.


def before_snapshot() -> None:
    """No connection goes into the snapshot."""
    for database in list(_instances):
        database.close()


def after_restore() -> None:
    """Connections and randomness are made anew in each restored environment, and what was read
    from AWS before the snapshot (maybe days ago: secrets, signing and forwarder keys) is read again on
    first use."""
    for database in list(_instances):
        database.close()  # a connection opened before the snapshot (e.g. by a priming invoke)
    _rds_client.cache_clear()  # its credentials were the snapshotted environment's
    random.seed()  # from os.urandom: this environment's own sequence
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:  # only if init read a secret (importing it would load boto3)
        parameters.clear_caches()
    from cart_common import session

    session.forget_keys()


try:  # the Lambda runtime (python3.12 and later) provides it; elsewhere nothing is ever restored
    from snapshot_restore_py import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
        register_after_restore,
        register_before_snapshot,
    )
except ImportError:  # pragma: no cover - outside Lambda, without the package
    pass
else:
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
