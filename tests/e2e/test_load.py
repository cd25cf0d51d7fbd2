"""Load (issue 7, item 5): through the local stack over real HTTP (a threaded werkzeug server on
loopback, four execution environments as worker processes, urllib clients in threads):

- 100 concurrent adds to one line of one cart count exactly, each seeing its own cart version;
- 100 concurrent changes of two kinds on one cart end in the one state they must;
- 100 concurrent changes with the same If-Match: exactly one wins, 99 are 409 version_conflict;
- 1,000 mixed operations (adds, quantity changes, removals) across 50 carts, two concurrent
  streams per cart, end with exactly the state a sequential model of each stream predicts.

Everywhere: zero 5xx (so no 503 from a deadlock or a timeout), no deadlock counted by PostgreSQL
and none logged by the functions, and each scenario bounded in time.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg
import pytest

from local import stack
from tests.conftest import one, own_products
from tests.e2e.test_faults import call, serve

WORKERS = 4  # execution environments
TIME_BOUND_S = 60


@pytest.fixture(scope="module")
def products(database_url: str) -> list[str]:
    return own_products(database_url, "Load")


def deadlocks(database_url: str) -> int:
    """Deadlocks PostgreSQL has detected in this database (cumulative statistics)."""
    time.sleep(1.1)  # backends flush their statistics at most once a second
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("select pg_stat_clear_snapshot()")
        return one(conn.execute("select deadlocks from pg_stat_database where datname = current_database()"))[0]


@pytest.fixture
def base(monkeypatch: pytest.MonkeyPatch, database_url: str, capfd: pytest.CaptureFixture[str]) -> Iterator[str]:
    """The local stack on a loopback port with four worker processes (their environment read when
    they start: a per-line maximum above 100 so 100 adds of one line are all allowed); afterwards,
    no deadlock counted by the database or logged by a function."""
    monkeypatch.setenv("MAX_QUANTITY_PER_LINE", "1000")
    before = deadlocks(database_url)
    with serve(stack.make_invoker(workers=WORKERS)) as url:
        with ThreadPoolExecutor(WORKERS * 2) as warm:  # every execution environment started and warm
            assert set(warm.map(lambda _: call(url, "GET", "/cart")[0], range(WORKERS * 4))) == {200}
        yield url
    assert deadlocks(database_url) == before
    logged = "".join(capfd.readouterr())
    assert "CartOperations" in logged  # the worker processes' output was captured (their metrics lines)
    assert "deadlock" not in logged.lower() and "Request failed" not in logged and "Unhandled error" not in logged


def new_session(base: str) -> dict[str, str]:
    status, headers, _ = call(base, "GET", "/cart")
    assert status == 200
    return {"X-Cart-Session": headers["X-Cart-Session"]}


def concurrently(requests: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at once, one thread each, released together by a barrier; their results, in order."""
    barrier = threading.Barrier(len(requests))

    def run(request: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        return request()

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(run, requests))


def lines(cart: dict[str, Any]) -> dict[str, int]:
    return {item["productId"]: item["quantity"] for item in cart["items"]}


# --- one cart, 100 at once ------------------------------------------------------------------------


@pytest.mark.timeout(TIME_BOUND_S * 2)
def test_100_concurrent_adds_to_one_line_count_exactly(base: str, products: list[str]) -> None:
    session = new_session(base)
    started = time.monotonic()
    replies = concurrently(
        [lambda: call(base, "POST", "/cart/items", {"productId": products[0], "quantity": 1}, session)] * 100,
    )
    elapsed = time.monotonic() - started
    assert Counter(status for status, _, _ in replies) == {200: 100}, [b for s, _, b in replies if s != 200][:3]
    # Every add saw the cart at a version of its own: they were serialised, none was lost.
    assert sorted(int(headers["ETag"].strip('"')) for _, headers, _ in replies) == list(range(1, 101))
    status, _, cart = call(base, "GET", "/cart", headers=session)
    assert status == 200 and lines(cart) == {products[0]: 100} and cart["version"] == 100
    assert elapsed < TIME_BOUND_S, elapsed


@pytest.mark.timeout(TIME_BOUND_S * 2)
def test_100_concurrent_adds_and_quantity_changes_on_one_cart_end_in_the_one_possible_state(
    base: str, products: list[str]
) -> None:
    session = new_session(base)
    status, _, cart = call(base, "POST", "/cart/items", {"productId": products[1], "quantity": 1}, session)
    assert status == 200
    line_b = cart["items"][0]["id"]
    add_a = lambda: call(base, "POST", "/cart/items", {"productId": products[0], "quantity": 1}, session)  # noqa: E731
    set_b = lambda: call(base, "PATCH", f"/cart/items/{line_b}", {"quantity": 5}, session)  # noqa: E731
    started = time.monotonic()
    replies = concurrently([add_a, set_b] * 50)
    assert time.monotonic() - started < TIME_BOUND_S
    assert Counter(status for status, _, _ in replies) == {200: 100}, [b for s, _, b in replies if s != 200][:3]
    status, _, cart = call(base, "GET", "/cart", headers=session)
    assert lines(cart) == {products[0]: 50, products[1]: 5}
    assert cart["version"] == 1 + 100  # every change applied once


@pytest.mark.timeout(TIME_BOUND_S * 2)
def test_100_concurrent_changes_with_the_same_if_match_let_exactly_one_win(base: str, products: list[str]) -> None:
    session = new_session(base)
    status, headers, cart = call(base, "POST", "/cart/items", {"productId": products[2], "quantity": 1}, session)
    assert status == 200
    item, version = cart["items"][0]["id"], headers["ETag"]
    replies = concurrently(
        [
            partial(call, base, "PATCH", f"/cart/items/{item}", {"quantity": q}, {**session, "If-Match": version})
            for q in range(2, 102)
        ],
    )
    statuses = Counter(status for status, _, _ in replies)
    assert statuses == {200: 1, 409: 99}, statuses
    (winner,) = [body for status, _, body in replies if status == 200]
    losers = [body for status, _, body in replies if status == 409]
    assert {body["code"] for body in losers} == {"version_conflict"}
    assert {body["currentVersion"] for body in losers} == {winner["version"]} == {2}
    status, _, cart = call(base, "GET", "/cart", headers=session)
    assert cart == {**winner, "version": 2}  # the winner's change, and nothing else


# --- 1,000 operations across 50 carts --------------------------------------------------------------


@dataclass
class Stream:
    """One client's sequence of changes to one line (one product) of one cart, with the model of what
    each must answer: the line's quantity (0: no line) and its id."""

    session: dict[str, str]
    product: str
    ops: list[tuple[str, int]]
    quantity: int = 0
    item: str | None = None
    gone: str = field(default_factory=lambda: str(uuid.uuid4()))  # an id this cart does not hold
    changes: int = 0  # successful changes (each bumps the cart version once)
    unexpected: list[Any] = field(default_factory=list)

    def run(self, base: str) -> None:
        for kind, amount in self.ops:
            if kind == "add":
                reply = call(base, "POST", "/cart/items", {"productId": self.product, "quantity": amount}, self.session)
                expected, self.quantity = 200, self.quantity + amount
            elif kind == "set":
                target = self.item or self.gone
                reply = call(base, "PATCH", f"/cart/items/{target}", {"quantity": amount}, self.session)
                expected = 200 if self.item else 404
                if self.item:
                    self.quantity = amount
            else:  # remove
                reply = call(base, "DELETE", f"/cart/items/{self.item or self.gone}", None, self.session)
                expected = 200 if self.item else 404
                if self.item:
                    self.quantity = 0
            status, _, body = reply
            if status != expected or (status == 404 and body["code"] != "item_not_found"):
                self.unexpected.append((kind, amount, status, body))
                return
            if status == 200:
                self.changes += 1
                mine = [i for i in body["items"] if i["productId"] == self.product]
                if self.quantity:
                    assert len(mine) == 1 and mine[0]["quantity"] == self.quantity, (kind, amount, body)
                    if self.item and self.item != mine[0]["id"]:
                        self.gone = self.item
                    self.item = mine[0]["id"]
                else:
                    assert not mine, (kind, amount, body)
                    if self.item:
                        self.gone, self.item = self.item, None


def plan(rng: random.Random, length: int) -> list[tuple[str, int]]:
    ops = [("add", rng.randint(1, 3))]
    while len(ops) < length:
        kind = rng.choices(["add", "set", "remove"], weights=[5, 3, 2])[0]
        ops.append((kind, rng.randint(1, 3) if kind == "add" else rng.randint(0, 5) if kind == "set" else 0))
    return ops


@pytest.mark.timeout(TIME_BOUND_S * 2)
def test_1000_mixed_operations_across_50_carts_end_in_the_modelled_state(base: str, products: list[str]) -> None:
    rng = random.Random(20261121)
    carts = [new_session(base) for _ in range(50)]
    streams = [Stream(session, products[s], plan(rng, 10)) for session in carts for s in range(2)]
    assert sum(len(s.ops) for s in streams) == 1000
    started = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda stream: stream.run(base), rng.sample(streams, len(streams))))
    elapsed = time.monotonic() - started
    assert not [s.unexpected for s in streams if s.unexpected]
    for session in carts:
        mine = [s for s in streams if s.session is session]
        status, _, cart = call(base, "GET", "/cart", headers=session)
        assert status == 200
        assert lines(cart) == {s.product: s.quantity for s in mine if s.quantity}
        assert cart["version"] == sum(s.changes for s in mine)  # each change applied exactly once
    assert elapsed < TIME_BOUND_S, f"1,000 operations took {elapsed:.1f}s"
