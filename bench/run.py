"""``make bench``: the cart API measured against the raw-SQL floor, in one run on one database.

Sections (each a function below; its docstring says exactly what it times):

1. **Latency per operation** (get, add, update, remove, clear, validate, merge, checkout), three ways,
   interleaved (each iteration runs every way in turn, so background load weighs on all alike):
   - *floor*: the operation's own SQL (the data-access module's statements, one pipeline) issued
     directly with psycopg on a raw connection, no handler;
   - *handler*: the Lambda handler invoked in-process with an API Gateway v2 event, warm;
   - *http*: a request through the local HTTP stack (Werkzeug + one worker process, like one Lambda
     execution environment).
2. **Round trips** per operation, counted from libpq's protocol trace (floor and handler).
3. **Validating a 50-line cart** (the seed design's target).
4. **Scaling**: ``GET /cart`` at 1, 10, 100 and 500 lines; and with 1,000 vs 1,000,000 carts in the
   database.
5. **Throughput**: 1, 8 and 32 concurrent clients over real HTTP against the local stack with N
   worker processes, mixed operations.
6. **Cold init** of every function in template.yaml that has a sample event (a fresh process importing
   it with the layer), peak memory, against the 150 ms budget; and where one function's init goes.

Results go to bench/RESULTS.md (with the machine and date), followed by bench/SWEEP.md, which
``make bench-sweep`` writes (not re-run here). ``--quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common"), str(ROOT / "db")]

import migrate  # noqa: E402
import psycopg  # noqa: E402
from cart_common.config import Limits  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

from local import postgres, stack, template  # noqa: E402
from local.invoke import host_layer  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SWEEP = ROOT / "bench" / "SWEEP.md"
LAYER = ROOT / "layers" / "common"
INIT_BUDGET_MS = 150
RUNTIME = f"{sys.version_info[0]}.{sys.version_info[1]}"  # the venv's, which is template.yaml's runtime
OPERATIONS = ("get", "add", "update", "remove", "clear", "validate", "merge", "checkout")
# The bench environment's cart rules: the defaults, except room for the 500-line cart.
MAX_LINES_PER_CART = 1000
MAX_LINE, GUEST_TTL, USER_TTL = 99, 30, 90
LIMITS = Limits(MAX_LINE, MAX_LINES_PER_CART, max_value=10_000_000)
TIMES = "\u00d7"  # the ratio sign in the tables


# --- helpers -----------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1] if len(samples) > 1 else samples[0]


def clocked(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """``fn(*args)``'s wall time in ms, and its result."""
    start = time.perf_counter()
    result = fn(*args)
    return (time.perf_counter() - start) * 1000, result


def timed(fn: Callable[..., object], *args: Any) -> float:
    return clocked(fn, *args)[0]


Op = Callable[..., object]


def interleaved(
    ways: dict[str, Op], iterations: int, setup: Callable[[], tuple] | None = None, warmup: int = 5
) -> dict[str, list[float]]:
    """Each way's ``op`` timed ``iterations`` times after ``warmup`` untimed rounds. Every round runs
    each way once, in turn, so whatever else the machine is doing weighs on all ways alike and the
    ratios hold. ``setup`` (untimed) runs before each call and its result is passed to the op."""
    samples: dict[str, list[float]] = {way: [] for way in ways}
    for i in range(warmup + iterations):
        for way, op in ways.items():
            took = timed(op, *(setup() if setup else ()))
            if i >= warmup:
                samples[way].append(took)
    return samples


def bench_database() -> tuple[str, str]:
    server = os.environ.get("DATABASE_URL") or postgres.embedded_server().get_uri()
    name = f"cart_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(server) | {"dbname": name}
    url = psycopg.conninfo.make_conninfo(**info)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate.migrate(conn, demo=True)
    return server, url


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


def cart_id(url: str, token: str) -> str:
    with psycopg.connect(url) as conn:
        return str(
            conn.execute(
                "select id from cart where session_id = %s and status = 'active'", (guest_owner(token).key,)
            ).fetchone()[0]
        )


# --- the three ways of running one operation ----------------------------------------------------


@dataclass
class Guest:
    """A guest's cart, made (untimed) for one merge: the token for the API, the owner for the floor."""

    token: str
    owner: Any


class FloorClient:
    """The operations' SQL (the ``store`` functions, one pipeline each) on a plain psycopg connection,
    with the bench environment's rules as arguments."""

    def __init__(self, url: str, owner: Any = None) -> None:
        from cart_common import store
        from cart_common.session import Owner

        self.store = store
        self.conn = psycopg.connect(url, autocommit=True, prepare_threshold=None, row_factory=dict_row)
        self.owner = owner or Owner("guest", secrets.token_hex(32))
        self.ttl = USER_TTL if self.owner.kind == "user" else GUEST_TTL

    def get(self) -> list:
        return self.store.cart_rows(self.conn, self.owner)

    def add(self, product: str) -> str:
        rows = self.store.add_line(
            self.conn,
            self.owner,
            product_id=uuid.UUID(product),
            variant_id=None,
            quantity=1,
            attributes={},
            limits=LIMITS,
            ttl_days=self.ttl,
            default_currency="USD",
        )
        return str(next(r["item_id"] for r in rows if str(r["product_id"]) == product))

    def update(self, item: str) -> None:
        self.store.set_quantity(
            self.conn,
            self.owner,
            item_id=uuid.UUID(item),
            quantity=2,
            limits=LIMITS,
            ttl_days=self.ttl,
        )

    def remove(self, item: str) -> None:
        self.store.remove_line(self.conn, self.owner, item_id=uuid.UUID(item), ttl_days=self.ttl)

    def clear(self) -> None:
        self.store.clear_lines(self.conn, self.owner, ttl_days=self.ttl)

    def validate(self) -> None:
        self.store.validate_cart(self.conn, self.owner, limits=LIMITS)

    def merge(self, guest: Guest) -> None:
        outcome, _ = self.store.merge_carts(
            self.conn, self.owner, guest.owner, strategy="sum", limits=LIMITS, user_ttl_days=USER_TTL
        )
        assert outcome["outcome"] == "merged", outcome

    def checkout(self) -> None:
        opened, _, _ = self.store.reserve_stock(
            self.conn, self.owner, limits=LIMITS, minutes=15, accept_prices=False
        )
        assert opened, "the checkout did not open"


class HandlerClient:
    """The Lambda handlers, in-process, with API Gateway v2 events (a guest, or a user with a bearer)."""

    def __init__(self, bearer: str | None = None) -> None:
        from tests.conftest import Shopper

        self.shopper = Shopper(bearer=bearer)

    def _ok(self, reply: Any) -> Any:
        assert reply.status == 200, reply
        return reply.json

    def get(self) -> dict:
        return self._ok(self.shopper.get())

    def add(self, product: str) -> str:
        cart = self._ok(self.shopper.add(product, 1))
        return next(i["id"] for i in cart["items"] if i["productId"] == product)

    def update(self, item: str) -> None:
        self._ok(self.shopper.update(item, quantity=2))

    def remove(self, item: str) -> None:
        self._ok(self.shopper.remove(item))

    def clear(self) -> None:
        self._ok(self.shopper.clear())

    def validate(self) -> None:
        self._ok(self.shopper.call("POST", "/cart/validate"))

    def merge(self, guest: Guest) -> None:
        self.shopper.token = guest.token  # sent as X-Cart-Session next to the bearer
        try:
            assert self._ok(self.shopper.merge())["merge"]["outcome"] == "merged"
        finally:
            self.shopper.token = None

    def checkout(self) -> None:
        assert self._ok(self.shopper.call("POST", "/cart/checkout"))["checkoutId"]


class HttpClient:
    """Requests through the local HTTP stack (a guest, or a user with a bearer)."""

    def __init__(self, base: str, bearer: str | None = None) -> None:
        self.base = base
        self.bearer = bearer
        self.token: str | None = None

    def _call(self, method: str, path: str, body: dict | None = None, session: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        if session or self.token:
            headers["X-Cart-Session"] = session or self.token
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            if not self.bearer:
                self.token = response.headers.get("X-Cart-Session", self.token)
            return json.load(response)

    def get(self) -> dict:
        return self._call("GET", "/cart")

    def add(self, product: str) -> str:
        cart = self._call("POST", "/cart/items", {"productId": product, "quantity": 1})
        return next(i["id"] for i in cart["items"] if i["productId"] == product)

    def update(self, item: str) -> None:
        self._call("PATCH", f"/cart/items/{item}", {"quantity": 2})

    def remove(self, item: str) -> None:
        self._call("DELETE", f"/cart/items/{item}")

    def clear(self) -> None:
        self._call("DELETE", "/cart")

    def validate(self) -> None:
        self._call("POST", "/cart/validate")

    def merge(self, guest: Guest) -> None:
        assert self._call("POST", "/cart/merge", session=guest.token)["merge"]["outcome"] == "merged"

    def checkout(self) -> None:
        assert self._call("POST", "/cart/checkout")["checkoutId"]


@dataclass
class Users:
    """The signed-in shoppers of the run (LocalCognito): one whose cart guest carts merge into, one
    who checks out."""

    merge_sub: str
    merge_token: str
    checkout_sub: str
    checkout_token: str

    def owner(self, sub: str) -> Any:
        from cart_common.session import Owner

        return Owner("user", sub)


def sign_up_users(cognito: Any) -> Users:
    found = []
    for role in ("merge", "checkout"):
        email, password = f"bench-{role}-{uuid.uuid4().hex[:8]}@example.com", "Correct-horse-9"
        sub = cognito.sign_up(email, password)
        found += [sub, cognito.sign_in(email, password)["AccessToken"]]
    return Users(*found)


class GuestCarts:
    """Fresh guest carts for merges (untimed): each call resets the user's cart to one line (product A)
    and makes a new guest cart with two lines, A (combined on merge) and B (added)."""

    def __init__(self, url: str, user: Any, products: list[str]) -> None:
        self.user_floor = FloorClient(url, owner=user)
        self.a, self.b = products[:2]

    def fresh(self) -> tuple[Guest]:
        self.user_floor.clear()
        self.user_floor.add(self.a)
        guest = HandlerClient()
        guest.add(self.a)
        guest.add(self.b)
        token = guest.shopper.token
        return (Guest(token, guest_owner(token)),)


# --- 1. latency per operation --------------------------------------------------------------------


CART_OPS = ("get", "add", "update", "remove", "clear")


def measure_cart_ops(clients: dict[str, Any], products: list[str], iterations: int) -> dict[str, dict[str, list]]:
    """get/add/update/remove/clear on each way's own guest cart, the ways in turn each iteration.
    Each iteration leaves the cart as it found it: three standing lines plus one that is added,
    updated and removed; a clear and re-fill every tenth iteration (so clear has a tenth of the
    samples)."""
    samples = {way: {op: [] for op in CART_OPS} for way in clients}
    standing, moving = products[:3], products[3]
    for client in clients.values():
        for product in standing:
            client.add(product)
    for i in range(iterations + 5):  # the first five warm up
        for way, client in clients.items():
            times = {"get": timed(client.get)}
            times["add"], item = clocked(client.add, moving)
            times["update"] = timed(client.update, item)
            times["remove"] = timed(client.remove, item)
            if i % 10 == 0:
                times["clear"] = timed(client.clear)
                for product in standing:
                    client.add(product)
            if i >= 5:
                for op, took in times.items():
                    samples[way][op].append(took)
    return samples


def latency_per_operation(
    url: str, base: str, users: Users, products: list[str], iterations: int
) -> dict[str, dict[str, list[float]]]:
    """Every operation three ways, the ways interleaved: the cart operations and
    ``POST /cart/validate`` on a guest's three-line cart (a guest of each way's own);
    ``POST /cart/merge`` of a fresh two-line guest cart into a signed-in user's one-line cart (both
    made untimed before each merge); ``POST /cart/checkout`` of a signed-in user's three-line cart
    (each checkout releases the previous one's reservation and reserves again). Merge and checkout
    run half as many iterations."""
    merge_user, checkout_user = users.owner(users.merge_sub), users.owner(users.checkout_sub)
    guests = GuestCarts(url, merge_user, products)
    checkout_floor = FloorClient(url, owner=checkout_user)
    for product in products[:3]:  # the checkout user's cart, shared by the three ways
        checkout_floor.add(product)
    shoppers = {"floor": FloorClient(url), "handler": HandlerClient(), "http": HttpClient(base)}
    mergers = {
        "floor": FloorClient(url, owner=merge_user),
        "handler": HandlerClient(users.merge_token),
        "http": HttpClient(base, users.merge_token),
    }
    checkers = {
        "floor": checkout_floor,
        "handler": HandlerClient(users.checkout_token),
        "http": HttpClient(base, users.checkout_token),
    }
    samples = measure_cart_ops(shoppers, products, iterations)
    fewer = max(iterations // 2, 5)
    for op, results in (
        ("validate", interleaved({way: c.validate for way, c in shoppers.items()}, iterations)),
        ("merge", interleaved({way: c.merge for way, c in mergers.items()}, fewer, setup=guests.fresh)),
        ("checkout", interleaved({way: c.checkout for way, c in checkers.items()}, fewer)),
    ):
        for way, taken in results.items():
            samples[way][op] = taken
    return samples


# --- 2. round trips --------------------------------------------------------------------------------


def round_trips_of(conn: psycopg.Connection, fn: Callable[..., object], *args: Any) -> int:
    """Round trips ``fn(*args)`` makes on ``conn``: the ReadyForQuery messages in libpq's protocol trace."""
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        try:
            fn(*args)
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        return sum(1 for line in trace if "\tB\t" in line and "ReadyForQuery" in line)


def round_trips_one_way(
    conn: psycopg.Connection, guest: Any, merger: Any, checker: Any, guests: GuestCarts, products: list[str]
) -> dict[str, int]:
    """Each operation once on ``conn`` (the clients' connection), after one untraced call of each."""
    guest.add(products[0])
    merger.merge(*guests.fresh())
    checker.checkout()
    counts = {"get": round_trips_of(conn, guest.get)}
    item: list[str] = []
    counts["add"] = round_trips_of(conn, lambda: item.append(guest.add(products[1])))
    counts["update"] = round_trips_of(conn, guest.update, item[0])
    counts["remove"] = round_trips_of(conn, guest.remove, item[0])
    counts["clear"] = round_trips_of(conn, guest.clear)
    counts["validate"] = round_trips_of(conn, guest.validate)
    counts["merge"] = round_trips_of(conn, merger.merge, *guests.fresh())
    counts["checkout"] = round_trips_of(conn, checker.checkout)
    return counts


def count_round_trips(url: str, users: Users, products: list[str]) -> dict[str, dict[str, int]]:
    """Round trips of every operation, floor (one raw connection shared by the three floor clients)
    and handler (the execution environment's connection, warm: the signed-in users' emails were
    already remembered)."""
    from cart_common.db import get_database

    merge_user, checkout_user = users.owner(users.merge_sub), users.owner(users.checkout_sub)
    guests = GuestCarts(url, merge_user, products)
    floor = FloorClient(url)
    merger, checker = FloorClient(url, owner=merge_user), FloorClient(url, owner=checkout_user)
    merger.conn = checker.conn = floor.conn
    counts = {"floor": round_trips_one_way(floor.conn, floor, merger, checker, guests, products)}
    handler = HandlerClient()
    handler.add(products[0])  # opens the connection
    counts["handler"] = round_trips_one_way(
        get_database().connection(),
        handler,
        HandlerClient(users.merge_token),
        HandlerClient(users.checkout_token),
        guests,
        products,
    )
    counts["handler"]["get (first visit)"] = round_trips_of(get_database().connection(), HandlerClient().get)
    return counts


# --- 3. validating a 50-line cart ----------------------------------------------------------------


def validate_fifty_lines(url: str, base: str, iterations: int) -> dict[str, list[float]]:
    """``POST /cart/validate`` on a 50-line cart: the readiness query and cart view on a raw
    connection (floor) vs the handler in-process vs the local HTTP stack (the seed design's
    target: under 500 ms)."""
    products = make_products(url, 50)
    handler = HandlerClient()
    for product in products:
        handler.add(product)
    floor = FloorClient(url, owner=guest_owner(handler.shopper.token))
    http = HttpClient(base)
    http.token = handler.shopper.token

    def check() -> None:
        reply = handler.shopper.call("POST", "/cart/validate")
        assert reply.status == 200 and len(reply.json["cart"]["items"]) == 50, reply

    return interleaved({"floor": floor.validate, "handler": check, "http": http.validate}, iterations)


# --- 4. scaling ------------------------------------------------------------------------------------


def scaling_lines(url: str, sizes: tuple[int, ...], iterations: int) -> dict[int, dict[str, list[float]]]:
    """``GET /cart`` of one guest cart holding 1, 10, 100, 500 lines: the cart view on a raw
    connection (floor) vs the handler in-process (which also builds and serialises every line).
    Each cart's first line is added through the handler, the rest inserted with SQL."""
    products = make_products(url, max(sizes))
    results = {}
    for size in sizes:
        handler = HandlerClient()
        handler.add(products[0])
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "insert into cart_item (cart_id, product_id, quantity, price_at_add)"
                " select %s, id, 1, price from product where id = any(%s::uuid[])",
                (cart_id(url, handler.shopper.token), products[1:size]),
            )
        assert len(handler.get()["items"]) == size
        floor = FloorClient(url, owner=guest_owner(handler.shopper.token))
        results[size] = interleaved({"floor": floor.get, "handler": handler.get}, iterations)
    return results


def scaling_carts(url: str, counts: tuple[int, ...], products: list[str], iterations: int) -> list[dict[str, Any]]:
    """``GET /cart`` of one three-line guest cart among 1,000 and then 1,000,000 carts (floor and
    handler). The dummy carts are active guest carts without lines, bulk-inserted with one
    ``insert ... select ... from generate_series`` (random 64-hex session keys, as real ones are),
    then ``analyze``."""
    handler = HandlerClient()
    for product in products[:3]:
        handler.add(product)
    floor = FloorClient(url, owner=guest_owner(handler.shopper.token))
    results = []
    with psycopg.connect(url, autocommit=True) as conn:
        for count in counts:
            (have,) = conn.execute("select count(*) from cart").fetchone()
            start = time.perf_counter()
            conn.execute(
                "insert into cart (session_id, currency, expires_at)"
                " select md5(random()::text || g) || md5(random()::text || g), 'USD', now() + interval '30 days'"
                " from generate_series(1, %s) g",
                (max(0, count - have),),
            )
            conn.execute("analyze cart")
            insert_s = time.perf_counter() - start
            (total,) = conn.execute("select count(*) from cart").fetchone()
            results.append(
                {"carts": total, "insert_s": insert_s}
                | interleaved({"floor": floor.get, "handler": handler.get}, iterations)
            )
    return results


# --- 5. throughput ---------------------------------------------------------------------------------


MIX = (("get", 0.5), ("add", 0.3), ("update", 0.1), ("remove", 0.1))


def load_clients(base: str, clients: int, seconds: float, products: list[str], seed: int) -> dict[str, Any]:
    """Runs in a process of its own, so the clients do not share the server's GIL: ``clients``
    threads, each a guest shopper with a cart of its own, sending requests back to back over real
    HTTP (a connection each, as the server closes it) for ``seconds``. Operations by ``MIX``; an
    update or remove with no line to pick is an add. Returns every request's operation, status
    (0: no response) and latency."""
    split = urlsplit(base)
    barrier = threading.Barrier(clients + 1)
    results: list[tuple[str, int, float]] = []
    lock = threading.Lock()
    ops, weights = zip(*MIX, strict=True)

    def shopper(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        token, items, mine = None, [], []
        barrier.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            op = rng.choices(ops, weights)[0]
            if op in ("update", "remove") and not items:
                op = "add"
            if op == "get":
                method, path, body = "GET", "/cart", None
            elif op == "add":
                method, path, body = "POST", "/cart/items", {"productId": rng.choice(products), "quantity": 1}
            elif op == "update":
                method, path, body = "PATCH", f"/cart/items/{rng.choice(items)}", {"quantity": rng.randint(1, 5)}
            else:
                method, path, body = "DELETE", f"/cart/items/{rng.choice(items)}", None
            headers = {"Content-Type": "application/json", **({"X-Cart-Session": token} if token else {})}
            start = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(split.hostname, split.port, timeout=60)
                conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
                response = conn.getresponse()
                data, status = response.read(), response.status
                token = response.getheader("X-Cart-Session") or token
                conn.close()
            except OSError:
                data, status = b"", 0
            mine.append((op, status, (time.perf_counter() - start) * 1000))
            if status == 200:
                items = [item["id"] for item in json.loads(data)["items"]]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=shopper, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return {"clients": clients, "elapsed_s": time.perf_counter() - start, "requests": results}


def throughput(
    products: list[str], levels: tuple[int, ...], seconds: float, workers: int, warmup_s: float
) -> list[dict[str, Any]]:
    """Requests per second, p50/p95 and statuses at each concurrency level, for ``seconds`` each,
    against the local stack with ``workers`` worker processes (execution environments). A warm-up at
    the highest level first starts every worker and opens its database connection (discarded)."""
    base, stop = serve_local_stack(workers)
    levels_out = []
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as load:
            load.submit(load_clients, base, max(levels), warmup_s, products, 0).result()
            for n, clients in enumerate(levels, start=1):
                levels_out.append(load.submit(load_clients, base, clients, seconds, products, n).result())
    finally:
        stop()
    return levels_out


# --- 6. cold init ---------------------------------------------------------------------------------


# Every fresh process starts the way Lambda's runtime does before it imports a handler: the function's
# package, then the layer, on sys.path (/var/task, /opt/python), and the runtime interface client
# (awslambdaric, which the managed runtime bundles) already imported, with what it imports. It is
# installed in this virtualenv, so its folder is on sys.path only while it is imported.
PREAMBLE = """
import gc, importlib, json, sys, time
sys.path[:0] = {path!r}
sys.path.append({runtime!r})
import awslambdaric.bootstrap
sys.path.remove({runtime!r})
sys.path_importer_cache.pop({runtime!r}, None)
preloaded = len(sys.modules)
"""

COLD = (
    PREAMBLE
    + """
start = time.perf_counter()
handler_module = importlib.import_module({module!r})  # as awslambdaric's bootstrap does
init_ms = (time.perf_counter() - start) * 1000
gc_ok = gc.isenabled()
modules = len(sys.modules) - preloaded
boto3 = "boto3" in sys.modules
def rss_mb(field):  # this process's own memory (ru_maxrss would include the parent's, inherited across exec)
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field)) / 1024
rss_init = rss_mb("VmRSS:")
event = json.load(open({event!r}))
class Ctx:
    function_name = "bench"; memory_limit_in_mb = 256; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:bench"
    def get_remaining_time_in_millis(self): return 10000
start = time.perf_counter()
result = getattr(handler_module, {attr!r})(event, Ctx())
first_ms = (time.perf_counter() - start) * 1000
rss_peak = rss_mb("VmHWM:")
status = result.get("statusCode", "ok") if isinstance(result, dict) else type(result).__name__
libpython_shared = "libpython" in open("/proc/self/maps").read()
print(json.dumps(dict(init_ms=init_ms, first_ms=first_ms, rss_init=rss_init, rss_peak=rss_peak, status=status,
                      modules=modules, boto3=boto3, gc_ok=gc_ok, libpython_shared=libpython_shared)))
"""
)

# The required stack alone, under the same conditions: psycopg, pydantic with one model built,
# Powertools' HTTP resolver (with validation), Logger and Metrics; none of our code. The collector
# is paused as cart_common pauses it.
STACK_FLOOR = (
    PREAMBLE
    + """
start = time.perf_counter()
gc.disable()
import psycopg
from pydantic import BaseModel
class Model(BaseModel):
    quantity: int
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
app = APIGatewayHttpResolver(enable_validation=True)
gc.freeze(); gc.enable()
print(json.dumps((time.perf_counter() - start) * 1000))
"""
)

IMPORT_ALONE = (
    PREAMBLE
    + """
start = time.perf_counter()
importlib.import_module({module!r})
print(json.dumps((time.perf_counter() - start) * 1000))
"""
)
IMPORT_CANDIDATES = (
    "asyncio",
    "pydantic",
    "psycopg",
    "aws_lambda_powertools",
    "aws_lambda_powertools.event_handler",
    "cart_common.models",
    "cart_common.api",
    "app",
)
# The marker leaves out what the interpreter and the runtime client imported first.
IMPORT_TRACE = (
    PREAMBLE
    + """
sys.stderr.write("START\\n")
import app
"""
)


@dataclass(frozen=True)
class Interpreter:
    label: str
    executable: str
    path: str


def interpreters() -> list[Interpreter]:
    """The CPython builds of the runtime's version cold starts are timed on: this run's own (the
    virtualenv's base) and, where the machine has one, the distribution's /usr/bin/python3.X. How each was
    built matters: a default pyenv build (this machine's) has no profile-guided or link-time
    optimization and a shared libpython; Debian builds its python3.11 with PGO and LTO and links
    libpython into the executable (its changelog: "Enable LTO/PGO builds on some architectures"),
    as production CPython builds are optimized."""
    found, seen = [], set()
    runtime = list(sys.version_info[:2])  # the venv's: template.yaml's runtime (the Makefile checks)
    debian = f"/usr/bin/python{runtime[0]}.{runtime[1]}"
    for label, candidate in (("this run's", sys.executable), ("Debian's", debian)):
        if not Path(candidate).exists():
            continue
        probe = subprocess.run(
            [candidate, "-I", "-S", "-c",
             "import json, os, sys; print(json.dumps([os.path.realpath(sys.executable), "
             "list(sys.version_info[:2]), sys.version.split()[0]]))"],
            capture_output=True, text=True,
        )  # fmt: skip
        if probe.returncode != 0:
            continue
        real, version, full_version = json.loads(probe.stdout)
        if version != runtime or real in seen:
            continue
        seen.add(real)
        found.append(Interpreter(f"{label} {full_version}", candidate, real))
    return found


def runtime_client_path() -> str:
    """Where awslambdaric (a bench dependency) is installed."""
    import importlib.util

    spec = importlib.util.find_spec("awslambdaric")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("awslambdaric is missing: make bench installs requirements-dev.txt")
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


def cold_env(function_name: str) -> dict[str, str]:
    """The bench environment plus what Lambda and template.yaml's Globals set for every function
    that bears on init: the function name (which also tells cart_common it runs in Lambda) and
    pydantic's plugin switch."""
    globals_env = template.load().get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "PYDANTIC_DISABLE_PLUGINS": str(globals_env.get("PYDANTIC_DISABLE_PLUGINS", "")),
    }


def run_fresh(python: str, code: str, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh, isolated interpreter (``-I -S``: the standard library and what ``code``
    puts on sys.path, nothing else), as in Lambda."""
    return subprocess.run([python, "-I", "-S", *flags, "-c", code], capture_output=True, text=True, check=True, env=env)


def sampled_functions() -> list[tuple[template.Function, Path]]:
    """Every function in template.yaml with a sample event: events/<code folder>.json, or
    events/<handler module>.json (the MigrateFunction's code folder is db/, its sample migrate.json)."""
    found = []
    for function in template.functions():
        module = function.handler.rsplit(".", 1)[0]
        for candidate in (function.code_dir.name, module):
            event = ROOT / "events" / f"{candidate}.json"
            if event.exists():
                found.append((function, event))
                break
    return found


def build_functions(target: Path) -> Path:
    """``sam build`` into ``target``: cold starts are measured on what Lambda runs (the built
    function folders and the built layer, with its compiled bytecode), not on the source tree."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "sam"), "build", "--template-file", str(ROOT / "template.yaml"),
         "--build-dir", str(target / "build"), "--base-dir", str(ROOT), "--cache-dir", str(target / "cache")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"sam build failed (cold starts are measured on its output):\n{result.stderr[-2000:]}")
    return target / "build"


def summarize_cold(of: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        key: statistics.median(s[key] for s in of)
        for key in ("init_ms", "first_ms", "rss_init", "rss_peak", "process_ms", "modules")
    } | {
        "init_min_ms": min(s["init_ms"] for s in of),
        "status": of[0]["status"],
        "boto3": any(s["boto3"] for s in of),
        "gc_ok": all(s["gc_ok"] for s in of),
        "libpython_shared": of[0]["libpython_shared"],
    }


def cold_starts(runs: int, traced_function: str = "get_cart") -> dict[str, Any]:
    """Per function and interpreter (see ``interpreters``), the median of ``runs`` fresh processes
    (and the fastest import): the import of the handler module (Lambda's init phase; no network),
    with Lambda's environment variables; the first invocation with the sample event (opens the
    database connection); peak RSS (the process's own VmHWM); and the process's wall time. On the
    ``sam build`` output. Each round starts every function once on every interpreter, so a burst
    of background load lands on one sample of many functions, not on many samples of one. Then the
    required stack's own cost (``STACK_FLOOR``) on each interpreter, and where ``traced_function``'s
    init goes (``import_costs``)."""
    runtime = runtime_client_path()
    pythons = interpreters()
    with tempfile.TemporaryDirectory() as scratch:
        built = build_functions(Path(scratch))
        # The built layer's wheels are Lambda's (arm64): the same layer for this machine's architecture.
        layer = str(host_layer(built))
        runnable = []
        for function, event in sampled_functions():
            module, attr = function.handler.rsplit(".", 1)
            path = [str(built / function.name), layer]
            code = COLD.format(path=path, runtime=runtime, event=str(event), module=module, attr=attr)
            runnable.append((function, event, code, cold_env(function.name)))
        samples: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for _ in range(runs):
            for _, event, code, env in runnable:
                for python in pythons:
                    start = time.perf_counter()
                    out = run_fresh(python.executable, code, env)
                    process_ms = (time.perf_counter() - start) * 1000
                    samples[event.stem, python.label].append(
                        json.loads(out.stdout.strip().splitlines()[-1]) | {"process_ms": process_ms}
                    )
        functions = {
            event.stem: {
                "function": function.name,
                "by_python": {python.label: summarize_cold(samples[event.stem, python.label]) for python in pythons},
            }
            for function, event, _, _ in runnable
        }
        floor_code = STACK_FLOOR.format(path=[layer], runtime=runtime)
        floor: dict[str, list[float]] = {python.label: [] for python in pythons}
        for _ in range(max(runs, 5)):
            for python in pythons:
                floor[python.label].append(
                    json.loads(run_fresh(python.executable, floor_code, cold_env("floor")).stdout)
                )
        traced = next(f for f, event in sampled_functions() if event.stem == traced_function)
        imports = import_costs(
            pythons[0].executable, [str(built / traced.name), layer], runtime, cold_env(traced.name), runs
        ) | {"function": traced_function}
    return {
        "interpreters": [{"label": p.label, "path": p.path} for p in pythons],
        "functions": functions,
        "stack_floor": {label: statistics.median(xs) for label, xs in floor.items()},
        "imports": imports,
    }


def import_costs(python: str, path: list[str], runtime: str, env: dict[str, str], runs: int) -> dict[str, Any]:
    """Where one function's init goes, two ways, under the same conditions as ``cold_starts``: each
    candidate module imported alone in a fresh process (the fastest of ``runs``, the least disturbed
    by other load; it includes whatever the module itself imports, so the rows overlap), and the
    function's whole import under ``-X importtime`` with each module's own (self) time summed by
    top-level package (additive; importtime's overhead inflates the total)."""
    alone = {
        module: min(
            json.loads(run_fresh(python, IMPORT_ALONE.format(path=path, runtime=runtime, module=module), env).stdout)
            for _ in range(runs)
        )
        for module in IMPORT_CANDIDATES
    }
    trace = run_fresh(python, IMPORT_TRACE.format(path=path, runtime=runtime), env, "-X", "importtime").stderr
    by_package: Counter[str] = Counter()
    for line in trace.partition("START\n")[2].splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)", line)
        if match:
            by_package[match.group(2).split(".")[0]] += int(match.group(1)) / 1000
    return {"alone": alone, "self_by_package": by_package}


# --- the local stack --------------------------------------------------------------------------------


def serve_local_stack(workers: int = 1) -> tuple[str, Callable[[], None]]:
    """The local HTTP stack on a free port: a threaded Werkzeug server in this process, functions in
    ``workers`` worker processes (spawned now, so the environment must already be set)."""
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    invoker = stack.make_invoker(workers=workers)
    server = make_server("127.0.0.1", 0, stack.LocalApi(invoker), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        invoker.close()

    return f"http://127.0.0.1:{server.server_port}", stop


# --- the run ----------------------------------------------------------------------------------------


# The functions publish their metrics as they do in Lambda: EMF lines on stdout. (With
# POWERTOOLS_METRICS_DISABLED, Powertools skips the per-invocation flush but still prints a batch
# whenever 100 values pile up, so it is left enabled.) Its warning for an invocation that added no
# metric is silenced here and in every process started from here.
QUIET_WARNINGS = "ignore::UserWarning:aws_lambda_powertools.metrics.provider.base"


@contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """File descriptor 1 goes to /dev/null (inherited by the worker processes spawned meanwhile), so
    stdout carries only the results table."""
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.1f} GiB RAM, {system}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few iterations, short load levels")
    parser.add_argument(
        "--iterations", type=int, help="measured iterations per operation and way (default 300; quick 20)"
    )
    parser.add_argument(
        "--cold-runs", type=int, help="fresh processes per function and interpreter (default 7; quick 1)"
    )
    parser.add_argument("--seconds", type=float, help="seconds per concurrency level (default 10; quick 2)")
    parser.add_argument("--workers", type=int, default=4, help="local-stack worker processes for the load levels")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the results go (default bench/RESULTS.md)")
    parser.add_argument(
        "--carts", type=int, help="carts in the database at the large scaling point (default 1,000,000; quick 100,000)"
    )
    args = parser.parse_args()
    defaults = {"iterations": (300, 20), "cold_runs": (7, 1), "seconds": (10.0, 2.0), "carts": (1_000_000, 100_000)}
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def section(name: str, fn: Callable[[], Any]) -> Any:
    """Run one section, with its progress and duration on stderr."""
    start = time.perf_counter()
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    result = fn()
    print(f"bench: {name} took {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return result


def run_sections(args: argparse.Namespace, url: str, cognito: Any) -> dict[str, Any]:
    """Every section, in an order that keeps them from disturbing one another: the cold starts first,
    on a quiet machine (after the load levels, autovacuum and the workers' exit still compete for the
    two cores), and the database grows to a million carts last."""
    report: dict[str, Any] = {"cold": section("cold init", lambda: cold_starts(args.cold_runs))}
    users = sign_up_users(cognito)
    products = make_products(url, 20)
    base, stop = serve_local_stack(workers=1)
    try:
        report["ways"] = section(
            "latency per operation", lambda: latency_per_operation(url, base, users, products, args.iterations)
        )
        report["validate50"] = section(
            "validate, 50 lines", lambda: validate_fifty_lines(url, base, min(args.iterations, 200))
        )
    finally:
        stop()
    report["trips"] = section("round trips", lambda: count_round_trips(url, users, products))
    report["lines"] = section(
        "scaling by lines", lambda: scaling_lines(url, (1, 10, 100, 500), min(args.iterations, 100))
    )
    report["load"] = section(
        "throughput",
        lambda: throughput(products, (1, 8, 32), args.seconds, args.workers, warmup_s=1.0 if args.quick else 3.0),
    )
    report["carts"] = section(
        "scaling by carts", lambda: scaling_carts(url, (1_000, args.carts), products, min(args.iterations, 200))
    )
    with psycopg.connect(url) as conn:
        report["pg_version"] = conn.execute("show server_version").fetchone()[0]
        report["pg_settings"] = ", ".join(
            f"{name}={conn.execute(f'show {name}').fetchone()[0]}"
            for name in ("fsync", "synchronous_commit", "shared_buffers")
        )
    return report


def main() -> None:
    args = parse_args()
    started, load_before = time.perf_counter(), os.getloadavg()
    from local import cognito as local_cognito

    server_kind = "DATABASE_URL's server" if os.environ.get("DATABASE_URL") else "embedded, Unix socket"
    server, url = bench_database()
    cognito = local_cognito.start()
    os.environ.update(
        {
            **cognito.settings(),
            "DATABASE_URL": url,
            "SESSION_SIGNING_KEY": secrets.token_urlsafe(48),
            "MAX_LINES_PER_CART": str(MAX_LINES_PER_CART),
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_SERVICE_NAME": "cart-api",
            "POWERTOOLS_METRICS_NAMESPACE": "CartApi",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "PYTHONWARNINGS": QUIET_WARNINGS,
        }
    )
    os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
    warnings.filterwarnings("ignore", category=UserWarning, module="aws_lambda_powertools.metrics.provider.base")
    try:
        with stdout_to_devnull():
            report = run_sections(args, url, cognito)
    finally:
        cognito.stop()
        drop_database(server, url)
    report |= {
        "args": vars(args),
        "elapsed_s": time.perf_counter() - started,
        "load_avg": (load_before, os.getloadavg()),
        "server_kind": server_kind,
    }
    text = render(report)
    args.output.write_text(text + (SWEEP.read_text() if SWEEP.exists() else ""))
    print(text)
    print(f"Wrote {args.output} in {report['elapsed_s']:.0f} s", file=sys.stderr)


# --- the report ------------------------------------------------------------------------------------


def p(samples: list[float], q: int) -> str:
    return f"{percentile(samples, q):.2f}"


def render(r: dict[str, Any]) -> str:
    """bench/RESULTS.md (without the sweep section, which follows it)."""
    args, ways, trips = r["args"], r["ways"], r["trips"]
    (l1, _, _), (l1_after, _, _) = r["load_avg"]
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; `make bench`{' --quick' if args['quick'] else ''}, "
        f"{r['elapsed_s']:.0f} s in all",
        f"- Machine: {machine()}; Python {platform.python_version()}; PostgreSQL {r['pg_version']} "
        f"({r['server_kind']}; {r['pg_settings']}); load average {l1:.2f} at the start, {l1_after:.2f} at the end",
        f"- {args['iterations']} measured iterations per operation and way (merge and checkout: half as many; "
        "5 warm-up each), the three ways interleaved (each iteration runs every way in turn), one run, one database",
        "",
        "## Latency per operation (ms)",
        "",
        "| operation | floor p50 | floor p95 | handler p50 | handler p95 | handler/floor (p50) "
        "| http p50 | http p95 | http/floor (p50) | round trips (floor / handler) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for op in OPERATIONS:
        f, h, w = (ways[k][op] for k in ("floor", "handler", "http"))
        f50 = percentile(f, 50)
        lines.append(
            f"| {op} | {p(f, 50)} | {p(f, 95)} | {p(h, 50)} | {p(h, 95)} | {percentile(h, 50) / f50:.1f}{TIMES} "
            f"| {p(w, 50)} | {p(w, 95)} | {percentile(w, 50) / f50:.1f}{TIMES} "
            f"| {trips['floor'][op]} / {trips['handler'][op]} |"
        )
    lines += [
        "",
        "- get/add/update/remove/clear/validate: a guest's cart of three lines (add, update and remove work on a "
        "fourth); clear is sampled every tenth iteration (then the cart is refilled, untimed).",
        "- merge: a fresh two-line guest cart (one product the user has, one new) into a signed-in user's one-line "
        "cart; both carts are made untimed before each merge. The handler and http ways send the Cognito access "
        "token (verified against LocalCognito's JWKS) and the guest token in `X-Cart-Session`.",
        "- checkout: a signed-in user's three-line cart; each checkout releases the previous reservation and "
        "reserves again.",
        "- http: a new TCP connection per request (the Werkzeug server closes each one), one worker process.",
        f"- A first visit's `GET /cart` makes {trips['handler']['get (first visit)']} round trips (no cart, no query).",
        "",
        "## Validating a 50-line cart (ms)",
        "",
        "| way | p50 | p95 |",
        "|---|---|---|",
    ]
    v = r["validate50"]
    lines += [
        f"| floor (readiness query + cart view, one round trip) | {p(v['floor'], 50)} | {p(v['floor'], 95)} |",
        f"| handler (POST /cart/validate, in-process) | {p(v['handler'], 50)} | {p(v['handler'], 95)} |",
        f"| http (local stack) | {p(v['http'], 50)} | {p(v['http'], 95)} |",
        "",
        "The seed design's target is under 500 ms.",
        "",
        "## Scaling: `GET /cart` by lines in the cart (ms)",
        "",
        "| lines | floor p50 | floor p95 | handler p50 | handler p95 | handler/floor (p50) |",
        "|---|---|---|---|---|---|",
    ]
    for size, s in r["lines"].items():
        lines.append(
            f"| {size} | {p(s['floor'], 50)} | {p(s['floor'], 95)} | {p(s['handler'], 50)} | {p(s['handler'], 95)} "
            f"| {percentile(s['handler'], 50) / percentile(s['floor'], 50):.1f}{TIMES} |"
        )
    lines += [
        "",
        f"MAX_LINES_PER_CART is {MAX_LINES_PER_CART} in the bench environment (default 100).",
        "",
        "## Scaling: `GET /cart` by carts in the database (ms)",
        "",
        "| carts in the database | floor p50 | floor p95 | handler p50 | handler p95 | bulk insert + analyze s |",
        "|---|---|---|---|---|---|",
    ]
    for c in r["carts"]:
        lines.append(
            f"| {c['carts']:,} | {p(c['floor'], 50)} | {p(c['floor'], 95)} | {p(c['handler'], 50)} "
            f"| {p(c['handler'], 95)} | {c['insert_s']:.1f} |"
        )
    lines += [
        "",
        "The measured cart has three lines; the dummy carts are active guest carts without lines (carts only, to "
        "keep the run short).",
        "",
        f"## Throughput: concurrent clients against the local stack ({args['workers']} worker processes)",
        "",
        "| clients | requests | req/s | p50 ms | p95 ms | p99 ms | 2xx | 4xx | 5xx | no response |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for level in r["load"]:
        requests = level["requests"]
        latencies = [ms for _, _, ms in requests]
        classes = Counter(status // 100 for _, status, _ in requests)
        lines.append(
            f"| {level['clients']} | {len(requests)} | {len(requests) / level['elapsed_s']:.0f} "
            f"| {p(latencies, 50)} | {p(latencies, 95)} | {p(latencies, 99)} | {classes[2]} | {classes[4]} "
            f"| {classes[5]} | {classes[0]} |"
        )
    mix = ", ".join(f"{int(share * 100)}% {op}" for op, share in MIX)
    lines += [
        "",
        f"{args['seconds']:.0f} s per level after a warm-up; each client is a guest with its own cart sending requests "
        f"back to back ({mix}; an update or remove with no line is an add) over a new HTTP connection each, from a "
        "separate process. Everything (clients, server, workers, PostgreSQL) shares the machine's cores.",
        "",
        "## Cold init per function (median of fresh processes)",
        "",
    ]
    cold = r["cold"]
    labels = [python["label"] for python in cold["interpreters"]]
    lines += [
        f"Budget: import (init) ≤ {INIT_BUDGET_MS} ms, judged on the median of {args['cold_runs']} fresh "
        f"process{'es' if args['cold_runs'] != 1 else ''} on each CPython {RUNTIME} build this machine has "
        "(the fastest one is shown too: the least disturbed by other load). Init runs as in Lambda: after the runtime "
        "interface client's own imports (awslambdaric, which the managed runtime bundles), with "
        "`AWS_LAMBDA_FUNCTION_NAME` and template.yaml's `PYDANTIC_DISABLE_PLUGINS` set.",
        "",
    ]
    for python in cold["interpreters"]:
        rows = [f["by_python"][python["label"]] for f in cold["functions"].values()]
        passed = sum(row["init_ms"] <= INIT_BUDGET_MS for row in rows)
        libpython = "a shared libpython" if rows[0]["libpython_shared"] else "libpython linked into the executable"
        lines.append(
            f"- **{python['label']}** (`{python['path']}`, {libpython}): {passed} of {len(rows)} functions within "
            f"budget, slowest {max(row['init_ms'] for row in rows):.0f} ms; the required stack alone (psycopg, "
            f"pydantic and one model, Powertools' resolver, Logger and Metrics; none of our code) takes "
            f"{cold['stack_floor'][python['label']]:.0f} ms."
        )
    floors = list(cold["stack_floor"].values())
    gap = f" (the required stack imports {1 - floors[1] / floors[0]:.0%} faster on it)" if len(floors) == 2 else ""
    lines += [
        "",
        "This machine's default interpreter is a pyenv build without profile-guided or link-time optimization"
        + (
            f"; Debian's python{RUNTIME} is built with both, as distributions' builds usually are{gap}. Both are "
            "shown; neither is Lambda's own build."
            if len(floors) == 2
            else f" (Debian has no python{RUNTIME}); it is not Lambda's own build."
        ),
    ]
    lines += [
        "",
        "| function | "
        + " | ".join(f"init ms, {label} | budget | fastest" for label in labels)
        + f" | first invocation ms ({labels[0]}) | sample status | process total ms | RSS after init MB "
        "| peak RSS MB | modules imported | boto3 imported | GC on after init |",
        "|---|" + "---|---|---|" * len(labels) + "---|---|---|---|---|---|---|---|",
    ]
    for name, f in cold["functions"].items():
        cells = []
        for label in labels:
            c = f["by_python"][label]
            verdict = "pass" if c["init_ms"] <= INIT_BUDGET_MS else "**fail**"
            cells.append(f"{c['init_ms']:.0f} | {verdict} | {c['init_min_ms']:.0f}")
        c = f["by_python"][labels[0]]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {c['first_ms']:.0f} | {c['status']} | {c['process_ms']:.0f} "
            f"| {c['rss_init']:.0f} | {c['rss_peak']:.0f} | {c['modules']:.0f} | {'yes' if c['boto3'] else 'no'} "
            f"| {'yes' if c['gc_ok'] else '**no**'} |"
        )
    imports = cold["imports"]
    top = imports["self_by_package"].most_common(10)
    lines += [
        "",
        "Init is the import of the handler module with the layer on `sys.path` (what Lambda's init phase runs after "
        "the runtime's own start-up); no network. Measured on the "
        "sam build output in an isolated "
        "interpreter (standard library, the function's package, the layer with its compiled bytecode). "
        "Modules imported counts what the handler's import added to what the runtime client had loaded. "
        "The first invocation runs the sample event in events/ (sample "
        "tokens are placeholders, hence 401s) and includes opening the database connection. Process total includes "
        "interpreter start-up. Functions: every one in template.yaml with a sample event.",
        "",
        f"**Where {imports['function']}'s init goes** ({labels[0]}, same conditions). Each module imported alone in a "
        "fresh process (ms, fastest "
        f"of {args['cold_runs']}; each includes what that module imports, so they overlap):",
        "",
        "| " + " | ".join(f"`{m}`" for m in imports["alone"]) + " |",
        "|" + "---|" * len(imports["alone"]),
        "| " + " | ".join(f"{ms:.0f}" for ms in imports["alone"].values()) + " |",
        "",
        "The whole import under `python -X importtime`, each module's own time summed by top-level package "
        f"(ms; additive, {sum(imports['self_by_package'].values()):.0f} ms in all with importtime's overhead; "
        "`cart_common`'s own time is mostly pydantic setting up its models' fields as the classes are defined; "
        "validators are built on first use):",
        "",
        "| " + " | ".join(f"`{name}`" for name, _ in top) + " | everything else |",
        "|" + "---|" * (len(top) + 1),
        "| "
        + " | ".join(f"{ms:.0f}" for _, ms in top)
        + f" | {sum(imports['self_by_package'].values()) - sum(ms for _, ms in top):.0f} |",
        "",
        "The expiry-sweep section below is bench/SWEEP.md, written by `make bench-sweep` (its own date and "
        "machine line); `make bench` does not re-run it.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
