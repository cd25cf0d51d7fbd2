"""The guest→user merge under concurrency and a failing database, on real PostgreSQL.

The Cognito trigger, the lazy path and ``POST /cart/merge`` all merge with
``carts.merge_guest_cart``; Powertools handlers keep per-process state, so the races run that layer
function (and ``store.add_item``) from threads, each thread its own execution environment (its own
``Database``, so its own connection), released together by a barrier. The trigger itself is invoked
through the SignInMergeFunction's module (``cart_common.trigger``), from the test's thread only.

Every wait is bounded; every socket, thread and connection opened here is closed or joined.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from cart_common import carts, store, trigger
from cart_common.config import Limits, get_settings
from cart_common.db import Database
from cart_common.session import Owner, hash_token, mint_token, signing_keys
from tests.conftest import Shopper, User, direct_api_database, one
from tests.integration.test_signin import invoke_trigger, post_authentication_event, signed_in

TIMEOUT_S = 30.0  # no race here may take anywhere near this long; a deadlock would
# The trigger's own budget is 1.5 s; Cognito waits 5 s for a trigger before it fails the sign-in (Amazon
# Cognito developer guide, "Customizing user pool workflows with Lambda triggers"). The bound leaves the
# invocation's own overhead room on a loaded 2-core CI machine (2.2 s was seen at 2.0) and stays below
# the connect timeout, so a trigger that waited the connection out instead of its budget still fails.
TRIGGER_BOUND_S = 2.75
MERGERS = 6
ROUNDS = int(os.environ.get("MERGE_RACE_ROUNDS", "4"))  # raise it to hunt for rarer interleavings


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def sum_strategy(fresh_settings, monkeypatch) -> None:
    """These races count quantities: the (default) sum strategy, stated."""
    monkeypatch.setenv("MERGE_STRATEGY", "sum")
    get_settings.cache_clear()


def new_guest() -> tuple[str, Owner]:
    token = mint_token(signing_keys())
    return token, Owner("guest", hash_token(token))


def new_user() -> Owner:
    return Owner("user", f"race-{uuid.uuid4()}")


def add(database: Database, owner: Owner, product_id: str, quantity: int) -> store.CartRows:
    settings = get_settings()
    return database.run(
        partial(
            store.add_item,
            change=store.Change(owner, settings.cart_ttl_days(owner.kind)),
            product_id=uuid.UUID(product_id),
            variant_id=None,
            quantity=quantity,
            attributes={},
            limits=Limits(settings.max_quantity_per_line),
            default_currency=settings.default_currency,
        )
    )


def add_in(conn: psycopg.Connection, owner: Owner, product_id: str, quantity: int) -> None:
    """``store.add_item`` on a connection the caller controls (left in its transaction when the
    connection is not in autocommit)."""
    settings = get_settings()
    store.add_item(
        conn,
        store.Change(owner, settings.cart_ttl_days(owner.kind)),
        product_id=uuid.UUID(product_id),
        variant_id=None,
        quantity=quantity,
        attributes={},
        limits=Limits(settings.max_quantity_per_line),
        default_currency=settings.default_currency,
    )


def user_carts(sql: psycopg.Connection[DictRow], user: Owner) -> list[dict[str, Any]]:
    return sql.execute("select * from cart where user_id = %s and status = 'active'", (user.key,)).fetchall()


def guest_carts(sql: psycopg.Connection[DictRow], guest: Owner) -> list[dict[str, Any]]:
    return sql.execute("select * from cart where session_id = %s order by created_at", (guest.key,)).fetchall()


def lines(sql: psycopg.Connection[DictRow], cart_id: Any) -> dict[str, int]:
    rows = sql.execute("select product_id::text, quantity from cart_item where cart_id = %s", (cart_id,)).fetchall()
    return {row["product_id"]: row["quantity"] for row in rows}


def user_lines(sql: psycopg.Connection[DictRow], user: Owner) -> dict[str, int]:
    (cart,) = user_carts(sql, user)
    return lines(sql, cart["id"])


def plus(*counts: dict[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for count in counts:
        for key, quantity in count.items():
            total[key] = total.get(key, 0) + quantity
    return total


def together(works: list[Callable[[Database], Any]], timeout_s: float = TIMEOUT_S) -> list[Any]:
    """Run each work on a thread of its own with a ``Database`` of its own (connected before the
    start), all released by one barrier; return each one's result or the exception it raised."""
    barrier = threading.Barrier(len(works))
    results: list[Any] = [None] * len(works)

    def body(index: int) -> None:
        database = Database()
        try:
            database.connection()
            barrier.wait(timeout_s)
            results[index] = works[index](database)
        except BaseException as exc:  # kept for the test to inspect
            results[index] = exc
            barrier.abort()
        finally:
            database.close()

    threads = [threading.Thread(target=body, args=(i,), name=f"race-{i}", daemon=True) for i in range(len(works))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"still running after {timeout_s}s (a deadlock or a lock wait?): {stuck}"
    return results


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Poll the database for a state no event can signal (a backend waiting on a lock), bounded."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def blocked_by(sql: psycopg.Connection[DictRow], pid: int) -> set[int]:
    return set(one(sql.execute("select pg_blocking_pids(%s) as pids", (pid,)))["pids"])


@contextmanager
def merge_threads_joined(timeout_s: float = 10.0) -> Iterator[None]:
    """Join the trigger's worker threads ("cart-merge") started inside the block, so an abandoned
    merge never outlives its test; bounded."""
    before = set(threading.enumerate())
    try:
        yield
    finally:
        deadline = time.monotonic() + timeout_s
        started = [t for t in threading.enumerate() if t not in before and t.name == "cart-merge"]
        for thread in started:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not [t for t in started if t.is_alive()], "an abandoned merge thread is still running"


# --- 1. the three merge paths at once, alongside the user's adds --------------------------------


def race_one_round(
    sql: psycopg.Connection[DictRow], setup: Database, products: dict[str, str], user_has_cart: bool
) -> str:
    """One guest, one user: six merges of the guest cart and the user's four adds, all at once.
    Returns which merge did the work ("merged" or "adopted")."""
    mug, pen, cap = products["mug"], products["pen"], products["cap"]
    _, guest = new_guest()
    user = new_user()
    guest_lines = {mug: 2, pen: 3}
    for product_id, quantity in guest_lines.items():
        add(setup, guest, product_id, quantity)
    (guest_cart,) = guest_carts(sql, guest)
    initial = {mug: 1, cap: 4} if user_has_cart else {}
    for product_id, quantity in initial.items():
        add(setup, user, product_id, quantity)
    adds = [(mug, 1), (pen, 2), (cap, 1), (mug, 3)]  # the user's own adds, racing the merges

    def merging(database: Database) -> Any:
        return carts.merge_guest_cart(user, guest, database=database)

    def adding(product_id: str, quantity: int) -> Callable[[Database], Any]:
        return lambda database: add(database, user, product_id, quantity)

    results = together([merging] * MERGERS + [adding(p, q) for p, q in adds])

    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, [(e, e.__cause__) for e in errors]  # no DeadlockDetected, nothing at all
    outcomes = sorted(r.merge.outcome for r in results[:MERGERS])
    winners = [o for o in outcomes if o in ("merged", "adopted")]
    assert len(winners) == 1, outcomes  # exactly one merge did the work
    if user_has_cart:
        assert winners == ["merged"]
    # the others were replays, and knew it: nothing left to do
    assert outcomes.count("already_merged") == MERGERS - 1, outcomes
    for result in results[:MERGERS]:
        if result.merge.outcome == "already_merged":
            assert result.merge.added == result.merge.combined == result.merge.skipped == []

    (cart,) = user_carts(sql, user)  # one active cart for the user
    names = {mug: "mug", pen: "pen", cap: "cap"}
    got = {names[p]: q for p, q in lines(sql, cart["id"]).items()}
    want = {names[p]: q for p, q in plus(initial, guest_lines, *({p: q} for p, q in adds)).items()}
    assert got == want, outcomes  # the user's lines, the guest's once, and every concurrent add
    # the guest cart was either adopted (it is the user's cart now) or marked merged into it
    if winners == ["adopted"]:
        assert cart["id"] == guest_cart["id"] and cart["session_id"] is None
    else:
        after = one(sql.execute("select * from cart where id = %s", (guest_cart["id"],)))
        assert (after["status"], after["merged_into"]) == ("merged", cart["id"])
        assert after["merged_at"] is not None
    assert not [c for c in guest_carts(sql, guest) if c["status"] == "active"]
    return winners[0]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("user_has_cart", [True, False], ids=["into-user-cart", "adoption-vs-first-add"])
def test_concurrent_merges_and_adds_count_every_guest_line_once(
    user_has_cart: bool, make_product, sql, sum_strategy
) -> None:
    products = {name: make_product(stock=1000)["id"] for name in ("mug", "pen", "cap")}
    setup = Database()
    try:
        for _ in range(ROUNDS):
            race_one_round(sql, setup, products, user_has_cart)
    finally:
        setup.close()


# --- 2. the Post Authentication trigger answers in time whatever the database does ----------------


class SilentServer:
    """A TCP server on a local port that accepts connections and never says a word: libpq's
    startup (SSL request, then the startup packet) waits on it until its own timeout."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.05)  # so the accept loop sees the stop event
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.connected = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(conn)  # held open, never read from, never answered
            self.connected.set()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()
        for conn in self.accepted:
            conn.close()  # the client that still waits now reads end-of-file and gives up


@contextmanager
def unreachable_database(kind: str) -> Iterator[tuple[str, SilentServer | None]]:
    if kind == "silent":
        server = SilentServer()
        try:
            yield f"postgresql://cart:secret@127.0.0.1:{server.port}/cart", server
        finally:
            server.close()
    else:  # a port nobody listens on: the connection is refused at once
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        yield f"postgresql://cart:secret@127.0.0.1:{port}/cart", None


@pytest.fixture
def trigger_results(monkeypatch) -> list[str]:
    """What each trigger invocation's merge came to ("merged", "timed_out", "failed", ...): the
    trigger only logs it, so it is recorded on the way out."""
    seen: list[str] = []
    original = trigger._merge_within_budget

    def recording(*args: Any) -> str:
        result = original(*args)
        seen.append(result)
        return result

    monkeypatch.setattr(trigger, "_merge_within_budget", recording)
    return seen


def trigger_event(cognito: Any, token: str) -> dict[str, Any]:
    """A sign-in event for a user who needs no Cognito account (the database is never reached)."""
    sub = f"race-{uuid.uuid4()}"
    return post_authentication_event(cognito, User(f"{sub}@example.com", "", sub, {}), token)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["silent", "refused"])
def test_the_trigger_returns_the_event_in_time_when_the_database_is_unreachable(
    kind: str, cognito, fresh_settings, monkeypatch, trigger_results
) -> None:
    event = trigger_event(cognito, mint_token(signing_keys()))  # a valid guest token
    with merge_threads_joined(), unreachable_database(kind) as (url, server):
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        assert get_settings().merge_trigger_budget_ms == 1500 and get_settings().db_connect_timeout_s > TRIGGER_BOUND_S
        stuck = Database()
        monkeypatch.setattr(trigger, "_database", stuck)  # no connection yet: the trigger opens one
        try:
            started = time.monotonic()
            returned = invoke_trigger(json.loads(json.dumps(event)))
            elapsed = time.monotonic() - started
        finally:
            if server:
                server.close()  # the abandoned connect reads end-of-file and its thread ends
        assert returned == event
        assert elapsed <= TRIGGER_BOUND_S, elapsed
        if kind == "silent":
            assert server and server.connected.is_set()  # libpq did reach the server, and hung there
            assert trigger_results == ["timed_out"]
            assert trigger._database is not stuck  # the next invocation gets a connection of its own
        else:
            assert trigger_results == ["failed"]
            assert elapsed < 1.0  # a refusal is not waited out
    stuck.close()


@pytest.mark.timeout(60)
def test_the_trigger_returns_in_time_when_the_merge_blocks_and_a_later_merge_counts_once(
    user: User, cognito, database_url: str, sql, sum_strategy, monkeypatch, trigger_results
) -> None:
    from tests.conftest import MUG

    Shopper(bearer=user.access_token).add(MUG, 1)
    guest = Shopper()
    guest.add(MUG, 2)
    (user_cart,) = user_carts(sql, Owner("user", user.sub))

    # (thread, outcome) of every merge that committed: the trigger's, the route's and the lazy
    # path's all run carts._merge_on
    recorded: list[tuple[str, str]] = []
    original = carts._merge_on

    def recording(*args: Any, **kwargs: Any) -> Any:
        outcome, view = original(*args, **kwargs)
        recorded.append((threading.current_thread().name, outcome["outcome"]))
        return outcome, view

    monkeypatch.setattr(carts, "_merge_on", recording)
    stuck = Database()
    monkeypatch.setattr(trigger, "_database", stuck)
    event = post_authentication_event(cognito, user, guest.token)

    with merge_threads_joined(), psycopg.connect(database_url, row_factory=dict_row) as holder:
        # another session holds the user's cart row: the merge's lock statement waits on it
        holder.execute("select id from cart where id = %s for update", (user_cart["id"],))
        try:
            started = time.monotonic()
            returned = invoke_trigger(json.loads(json.dumps(event)))
            elapsed = time.monotonic() - started
            assert returned == event
            assert elapsed <= TRIGGER_BOUND_S, elapsed
            assert trigger_results == ["timed_out"]
            # the abandoned merge is still there, waiting on the lock
            waiting = one(
                sql.execute(
                    "select count(*) as n from pg_stat_activity where %s = any(pg_blocking_pids(pid))",
                    (holder.info.backend_pid,),
                )
            )["n"]
            assert waiting == 1
        finally:
            holder.rollback()  # the lock is released: the abandoned merge may now complete too
        # the shopper's next request merges explicitly, racing the abandoned merge
        reply = signed_in(guest, user).merge()
        assert reply.status == 200, reply
    # (the abandoned thread has been joined)
    stuck.close()

    # one of the two did it, the other found it done
    assert sorted(outcome for _, outcome in recorded) == ["already_merged", "merged"], recorded
    assert reply.json["merge"]["outcome"] in ("merged", "already_merged")
    assert user_lines(sql, Owner("user", user.sub)) == {MUG: 3}  # 1 + 2, counted once
    # and the lazy path, later still, finds nothing more to do
    assert signed_in(guest, user).get().json["itemCount"] == 3
    assert sorted(outcome for _, outcome in recorded) == ["already_merged", "already_merged", "merged"], recorded


# --- 3. a user cart that appears while a merge waits ----------------------------------------------
#
# The race above, taken into a deterministic order. A merge that has to wait for the guest cart's
# row (another session holds it: the guest adding in another tab, another merge of the same guest)
# must not be overtaken by the user's first add on another device: if the user's cart can be created
# and committed while the merge waits, a lock step that locked only the carts it saw leaves the
# merge writing to a user cart it never locked, out of id order (two merges deadlock) and from a
# snapshot a concurrent add has already overtaken (the add's units are overwritten). Whatever the
# merge does to prevent it (today: a per-user lock taken by merges and first adds alike), each
# step below either finishes or waits; both orders must end with every unit counted once.


class Worker:
    """``work(database)`` on a thread and a ``Database`` of its own, connected at once so its
    backend pid is known before it starts waiting; or ``work(conn)`` on a connection the test
    controls (handed over to the thread until it is done)."""

    def __init__(self, name: str, work: Callable[[Any], Any], conn: psycopg.Connection[Any] | None = None) -> None:
        self.name = name
        self.database: Database | None = None
        if conn is not None:
            self.pid = conn.info.backend_pid
        else:
            self.database = direct_api_database()
            self.pid = self.database.connection().info.backend_pid
        self.result: Any = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(work, conn or self.database), name=name, daemon=True)
        self.thread.start()

    def _run(self, work: Callable[[Any], Any], target: Any) -> None:
        try:
            self.result = work(target)
        except BaseException as exc:  # kept for the test to inspect
            self.result = exc
        finally:
            self.done.set()

    def join(self) -> Any:
        self.thread.join(TIMEOUT_S)
        assert not self.thread.is_alive(), f"{self.name} is still waiting"
        if self.database:
            self.database.close()
        return self.result


def waiting_or_done(sql: psycopg.Connection[DictRow], worker: Worker, pid: int | None = None) -> Callable[[], bool]:
    """The worker finished, or its backend waits on a lock (held by ``pid``, when given)."""

    def check() -> bool:
        if worker.done.is_set():
            return True
        blockers = blocked_by(sql, worker.pid)
        return bool(blockers) if pid is None else pid in blockers

    return check


@contextmanager
def workers_joined() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.join()


def guest_cart_with_id(
    sql: psycopg.Connection[DictRow], setup: Database, guest: Owner, cart_id: str, product_id: str, quantity: int
) -> None:
    """A guest cart whose id is chosen, so its place in an id-ordered locking is known."""
    sql.execute("insert into cart (id, session_id, currency) values (%s, %s, 'USD')", (cart_id, guest.key))
    add(setup, guest, product_id, quantity)


@pytest.mark.timeout(60)
def test_two_merges_of_one_guest_never_deadlock_when_the_users_first_cart_appears_meanwhile(
    make_product, sql, database_url: str, sum_strategy
) -> None:
    mug = make_product(stock=100)["id"]
    _, guest = new_guest()
    user = new_user()
    setup = Database()
    # the guest cart sorts after any user cart (as it does half the time with random ids)
    tail = uuid.uuid4().hex
    guest_cart_id = f"ffffffff-{tail[:4]}-4{tail[5:8]}-8{tail[9:12]}-{tail[12:24]}"
    try:
        guest_cart_with_id(sql, setup, guest, guest_cart_id, mug, 2)
        with workers_joined() as started, psycopg.connect(database_url) as holder:
            holder.execute("select id from cart where id = %s for update", (guest_cart_id,))  # e.g. a guest add
            first = Worker("trigger-merge", lambda db: carts.merge_guest_cart(user, guest, database=db))
            started.append(first)
            wait_until(lambda: holder.info.backend_pid in blocked_by(sql, first.pid), "the first merge to wait")
            first_add = Worker("first-add", lambda db: add(db, user, mug, 1))  # the user, on another device
            started.append(first_add)
            wait_until(waiting_or_done(sql, first_add), "the user's first add to finish or wait")
            second = Worker("lazy-merge", lambda db: carts.merge_guest_cart(user, guest, database=db))
            started.append(second)
            wait_until(waiting_or_done(sql, second), "the second merge to wait")
            holder.rollback()
        merges, added = [first.result, second.result], first_add.result
    finally:
        setup.close()
    errors = [(r, r.__cause__) for r in [*merges, added] if isinstance(r, BaseException)]
    assert not errors, errors  # no DeadlockDetected (40P01, answered as DatabaseUnavailable)
    outcomes = sorted(r.merge.outcome for r in merges)
    assert outcomes in (["already_merged", "merged"], ["adopted", "already_merged"]), outcomes
    assert user_lines(sql, user) == {mug: 1 + 2}


@pytest.mark.timeout(60)
def test_an_add_racing_a_merge_into_a_just_created_user_cart_is_not_lost(
    make_product, sql, database_url: str, sum_strategy
) -> None:
    mug = make_product(stock=100)["id"]
    _, guest = new_guest()
    user = new_user()
    setup = Database()
    try:
        add(setup, guest, mug, 2)
        (guest_cart,) = guest_carts(sql, guest)
        with (
            workers_joined() as started,
            psycopg.connect(database_url) as holder,
            psycopg.connect(database_url, row_factory=dict_row) as other,
        ):
            holder.execute("select id from cart where id = %s for update", (guest_cart["id"],))
            merger = Worker("merge", lambda db: carts.merge_guest_cart(user, guest, database=db))
            started.append(merger)
            wait_until(lambda: holder.info.backend_pid in blocked_by(sql, merger.pid), "the merge to wait")
            first_add = Worker("first-add", lambda db: add(db, user, mug, 1))  # the user's cart appears
            started.append(first_add)
            wait_until(waiting_or_done(sql, first_add), "the user's first add to finish or wait")
            # another add of the user's, made in a transaction that stays open until we commit it
            in_flight = Worker("open-add", lambda conn: add_in(conn, user, mug, 1), conn=other)
            started.append(in_flight)
            wait_until(waiting_or_done(sql, in_flight), "the open add to finish or wait")
            holder.rollback()
            assert in_flight.done.wait(TIMEOUT_S), "the open add never ran"
            assert not isinstance(in_flight.result, BaseException), in_flight.result
            # the merge finished, or it waits on the open add (having read the cart before it)
            wait_until(waiting_or_done(sql, merger, in_flight.pid), "the merge to finish or wait on the open add")
            other.commit()
        result, added = merger.result, first_add.result
    finally:
        setup.close()
    errors = [(r, r.__cause__) for r in (result, added) if isinstance(r, BaseException)]
    assert not errors, errors
    assert result.merge.outcome in ("merged", "adopted")
    assert user_lines(sql, user) == {mug: 1 + 1 + 2}  # every unit, once
