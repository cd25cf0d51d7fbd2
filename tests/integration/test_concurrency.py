"""Concurrent changes to one cart, on real PostgreSQL.

Lambda runs one event at a time per execution environment and scales by adding environments, each
with its own database connection. Powertools' resolver keeps per-process state, so the handlers are
never called from threads here: each thread is one "execution environment" with its own
``Database`` (its own connection) running the same data-access functions the handlers run. A
barrier releases the threads together; every wait is bounded."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import DictRow

from cart_common import store
from cart_common.config import Limits, get_settings
from cart_common.db import Database
from cart_common.errors import InsufficientStock
from cart_common.session import Owner, hash_token

TIMEOUT_S = 60
Rows = list[dict[str, Any]]


# --- helpers ----------------------------------------------------------------------------------


def new_guest() -> Owner:
    return Owner("guest", hash_token(f"v1.{secrets.token_urlsafe(16)}.test"))


def add(database: Database, owner: Owner, product_id: str, quantity: int = 1, variant_id: str | None = None) -> Rows:
    """What POST /cart/items runs (carts.add_item), on this environment's connection."""
    settings = get_settings()
    return database.run(
        partial(
            store.add_item,
            change=store.Change(owner, settings.guest_cart_ttl_days),
            product_id=UUID(product_id),
            variant_id=UUID(variant_id) if variant_id else None,
            quantity=quantity,
            attributes={},
            limits=Limits(settings.max_quantity_per_line),
            default_currency=settings.default_currency,
        )
    ).lines


def set_quantity(database: Database, owner: Owner, item_id: str, quantity: int) -> Rows:
    """What PATCH /cart/items/{itemId} with a quantity runs (carts.update_item)."""
    settings = get_settings()
    return database.run(
        partial(
            store.set_quantity,
            change=store.Change(owner, settings.guest_cart_ttl_days),
            item_id=UUID(item_id),
            quantity=quantity,
            limits=Limits(settings.max_quantity_per_line),
        )
    ).lines


def read(database: Database, owner: Owner) -> Rows:
    return database.run(partial(store.cart_rows, owner=owner)).lines


def quantity_of(rows: Rows, product_id: str) -> int:
    return next((row["quantity"] for row in rows if row["item_id"] and str(row["product_id"]) == product_id), 0)


class Together:
    """``count`` threads, each its own execution environment (a ``Database`` with its own
    connection, opened before the start), released together by a barrier; ``sync()`` lines them
    up again between rounds. Results and errors are kept per thread; no wait is unbounded."""

    def __init__(self, count: int, timeout_s: float = TIMEOUT_S, *, databases: bool = True) -> None:
        self.count = count
        self.timeout_s = timeout_s
        self.databases = databases  # False: plain client threads (the work gets None)
        self.barrier = threading.Barrier(count)
        self.results: list[Any] = [None] * count
        self.errors: list[tuple[int, BaseException]] = []

    def sync(self) -> None:
        self.barrier.wait(self.timeout_s)

    def run(self, work: Callable[[int, Any], Any]) -> list[Any]:
        def body(index: int) -> None:
            database = Database() if self.databases else None
            try:
                if database:
                    database.connection()  # connected before the start, so the start is simultaneous
                self.sync()
                self.results[index] = work(index, database)
            except BaseException as exc:
                self.errors.append((index, exc))
                self.barrier.abort()  # release the others instead of leaving them waiting
            finally:
                if database:
                    database.close()

        threads = [
            threading.Thread(target=body, args=(i,), name=f"environment-{i}", daemon=True) for i in range(self.count)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + self.timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [thread.name for thread in threads if thread.is_alive()]
        assert not stuck, f"still running after {self.timeout_s}s (a deadlock or lock wait?): {stuck}"
        return self.results


def cart_rows(sql: psycopg.Connection[DictRow], owner: Owner) -> list[dict[str, Any]]:
    """Every cart row of the owner, whatever its status."""
    return sql.execute("select * from cart where session_id = %s", (owner.key,)).fetchall()


def lines(sql: psycopg.Connection[DictRow], cart_id: Any) -> dict[str, int]:
    rows = sql.execute("select product_id::text, quantity from cart_item where cart_id = %s", (cart_id,)).fetchall()
    return {row["product_id"]: row["quantity"] for row in rows}


# --- one line, many writers -------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_parallel_adds_of_the_same_line_are_all_counted(make_product, sql) -> None:
    # Given a product with plenty of stock and a guest with no cart yet
    product = make_product(stock=1000)
    owner = new_guest()
    # When 16 environments each add it 5 times, all at once (the first adds also create the cart)
    together = Together(16)
    results = together.run(lambda i, db: [add(db, owner, product["id"]) for _ in range(5)])
    # Then nothing failed, and every add was counted
    assert together.errors == []
    (cart,) = cart_rows(sql, owner)
    assert lines(sql, cart["id"]) == {product["id"]: 80}
    assert cart["version"] == 80  # created at 1, then one bump per add
    # And the adds were serialised: each saw the cart right after itself, versions 1..80 once each
    seen = sorted(
        (rows[0]["version"], quantity_of(rows, product["id"])) for per_thread in results for rows in per_thread
    )
    assert seen == [(n, n) for n in range(1, 81)]


@pytest.mark.timeout(120)
def test_mixed_concurrent_changes_to_one_cart_keep_every_increment_and_never_deadlock(make_product, sql) -> None:
    # Given a cart holding a line C; and products A and B
    a, b, c = (make_product(stock=1000) for _ in range(3))
    owner = new_guest()
    setup = Database()
    try:
        line_c = next(str(r["item_id"]) for r in add(setup, owner, c["id"], 1) if r["item_id"])
    finally:
        setup.close()

    # When, all at once, 4 environments add A 5 times, 4 add 2 of B 5 times, 4 set C's quantity 5
    # times (environment k sets 10k+1 .. 10k+5) and 2 read the cart 10 times
    def work(index: int, db: Database) -> Any:
        group, k = divmod(index, 4)
        if group == 0:
            return [add(db, owner, a["id"], 1) for _ in range(5)]
        if group == 1:
            return [add(db, owner, b["id"], 2) for _ in range(5)]
        if group == 2:
            return [set_quantity(db, owner, line_c, 10 * k + n) for n in range(1, 6)]
        return [read(db, owner) for _ in range(10)]

    together = Together(14)
    results = together.run(work)

    # Then no environment failed, and none was chosen as a deadlock victim
    assert not [e for _, e in together.errors if isinstance(e, psycopg.errors.DeadlockDetected)]
    assert together.errors == []
    # And the increments are exact, and C holds the last value one of its writers set
    (cart,) = cart_rows(sql, owner)
    final = lines(sql, cart["id"])
    assert final[a["id"]] == 20 and final[b["id"]] == 40
    assert final[c["id"]] in {10 * k + 5 for k in range(4)}
    # And the 60 changes were serialised: one version each after the creating add (version 1)
    assert cart["version"] == 61
    versions = sorted(rows[0]["version"] for per_thread in results[:12] for rows in per_thread)
    assert versions == list(range(2, 62))
    # And a reader never saw the cart go backwards
    for reads in results[12:]:
        seen = [(rows[0]["version"], quantity_of(rows, a["id"]), quantity_of(rows, b["id"])) for rows in reads]
        assert seen == sorted(seen)


# --- the first add, in parallel ----------------------------------------------------------------


@pytest.mark.timeout(120)
def test_parallel_first_adds_for_one_new_guest_create_exactly_one_cart(make_product, sql) -> None:
    # Given two products; and 5 new guests, one per round
    a, b = make_product(stock=1000), make_product(stock=1000)
    guests = [new_guest() for _ in range(5)]
    together = Together(12)

    # When, in each round, 12 environments add to the same new guest's cart at once (no cart yet:
    # every one of them tries to create it)
    def work(index: int, db: Database) -> list[int]:
        versions = []
        for round_, guest in enumerate(guests):
            if round_:
                together.sync()
            rows = add(db, guest, a["id"] if index % 2 == 0 else b["id"])
            versions.append(rows[0]["version"])
        return versions

    results = together.run(work)

    # Then nothing failed; each guest has exactly one cart, with every add in it
    assert together.errors == []
    for round_, guest in enumerate(guests):
        (cart,) = cart_rows(sql, guest)
        assert lines(sql, cart["id"]) == {a["id"]: 6, b["id"]: 6}
        assert cart["version"] == 12
        assert sorted(versions[round_] for versions in results) == list(range(1, 13))


@pytest.mark.timeout(120)
def test_refused_first_adds_racing_successful_ones_leave_one_cart_versioned_by_the_successes(make_product, sql) -> None:
    # Given a product in stock and one out of stock, and a new guest
    plenty, none_left = make_product(stock=1000), make_product(stock=0)
    owner = new_guest()

    # When 12 environments add at once, every other one the product that is out of stock
    def work(index: int, db: Database) -> str:
        try:
            add(db, owner, none_left["id"] if index % 2 else plenty["id"])
        except InsufficientStock:
            return "refused"
        return "added"

    together = Together(12)
    results = together.run(work)

    # Then the refusals rolled back their part of creating the cart: one cart, one bump per success
    assert together.errors == []
    assert Counter(results) == {"added": 6, "refused": 6}
    (cart,) = cart_rows(sql, owner)
    assert lines(sql, cart["id"]) == {plenty["id"]: 6}
    assert cart["version"] == 6


# --- stock ------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_carts_do_not_reserve_stock_so_every_guest_may_add_the_last_unit(make_product, sql) -> None:
    # Given a product with 5 in stock  When 10 guests each add 1 to their own cart at once
    product = make_product(stock=5)
    guests = [new_guest() for _ in range(10)]
    together = Together(10)
    together.run(lambda i, db: add(db, guests[i], product["id"]))
    # Then all succeed: stock is checked when adding, not held by carts
    assert together.errors == []
    for guest in guests:
        (cart,) = cart_rows(sql, guest)
        assert lines(sql, cart["id"]) == {product["id"]: 1} and cart["version"] == 1


@pytest.mark.timeout(120)
def test_parallel_adds_to_one_cart_stop_exactly_at_the_stock(make_product, sql) -> None:
    # Given a product with 5 in stock  When 10 environments add 1 each to the same cart at once
    product = make_product(stock=5)
    owner = new_guest()

    def work(index: int, db: Database) -> Any:
        try:
            add(db, owner, product["id"])
        except InsufficientStock as exc:
            return exc.extensions
        return "added"

    together = Together(10)
    results = together.run(work)

    # Then exactly 5 succeed, and 5 are refused having seen the line already at the stock
    assert together.errors == []
    assert results.count("added") == 5
    refusals = [r for r in results if r != "added"]
    assert refusals == [{"maxAvailable": 5, "inCart": 5}] * 5
    (cart,) = cart_rows(sql, owner)
    assert lines(sql, cart["id"]) == {product["id"]: 5}
    assert cart["version"] == 5  # refused adds bump nothing


# --- through the local HTTP stack with worker processes ---------------------------------------


@pytest.mark.timeout(180)
def test_parallel_http_adds_through_worker_processes_are_all_counted(make_product) -> None:
    from werkzeug.serving import make_server

    from local import stack

    product = make_product(stock=1000)
    invoker = stack.make_invoker(workers=4)  # 4 execution environments, each a process
    server = make_server("127.0.0.1", 0, stack.LocalApi(invoker), threaded=True)
    serving = threading.Thread(target=server.serve_forever, name="local-api", daemon=True)
    serving.start()
    base = f"http://127.0.0.1:{server.server_port}"

    def call(method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, dict[str, str], Any]:
        request = urllib.request.Request(
            base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **({"X-Cart-Session": token} if token else {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read() or b"null")

    try:
        # Given a guest session (a first GET writes nothing but issues the token)
        status, headers, _ = call("GET", "/cart")
        assert status == 200
        token = headers["X-Cart-Session"]

        # When 8 clients with that session each add 1, 5 times, at once
        def work(index: int, _: None) -> list[int]:
            return [
                call("POST", "/cart/items", token, {"productId": product["id"], "quantity": 1})[0] for _ in range(5)
            ]

        together = Together(8, timeout_s=120, databases=False)
        statuses = [s for per_client in together.run(work) for s in per_client]

        # Then every request succeeded (no 5xx) and every add was counted
        assert together.errors == []
        assert statuses == [200] * 40
        status, _, cart = call("GET", "/cart", token)
        assert status == 200
        assert [(i["productId"], i["quantity"]) for i in cart["items"]] == [(product["id"], 40)]
        assert cart["version"] == 40
    finally:
        server.shutdown()
        serving.join(30)
        invoker.close()
