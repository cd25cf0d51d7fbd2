"""Sections 1 to 4 of ``make bench``: each cart operation measured warm, with the clients of
``bench.clients`` and the measures of ``bench.measure``. Latency per operation three ways, round trips
per operation, validating a 50-line cart, and ``GET /cart`` as the cart and the database grow. Each
function's docstring says exactly what it times; ``bench.report`` turns their results into tables."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg

from bench.clients import Client, FloorClient, GuestCarts, HandlerClient, HttpClient, Users
from bench.environment import cart_id, fill_carts, guest_owner, make_products, scalar
from bench.measure import clocked, in_turn, interleaved, round_trips_of, timed

# --- 1. latency per operation --------------------------------------------------------------------


CART_OPS = ("get", "add", "update", "remove", "clear")


def measure_cart_ops(clients: dict[str, Client], products: list[str], iterations: int) -> dict[str, dict[str, list]]:
    """get/add/update/remove/clear on each way's own guest cart, the ways in turn each iteration
    (``in_turn``: the order reversed every other one).
    Each iteration leaves the cart as it found it: three standing lines plus one that is added,
    updated and removed; a clear and re-fill every tenth iteration (so clear has a tenth of the
    samples)."""
    samples: dict[str, dict[str, list[float]]] = {way: {op: [] for op in CART_OPS} for way in clients}
    standing, moving = products[:3], products[3]
    for client in clients.values():
        for product in standing:
            client.add(product)
    for i in range(iterations + 5):  # the first five warm up
        # (i + i // 10: the clearing iterations, every tenth, alternate which way goes first too)
        for way, client in in_turn(clients, i + i // 10):
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


# A way of driving the operations: a client for (the owner, for the floor; the bearer, for the API),
# a guest of its own when both are None.
Way = Callable[[Any, str | None], Client]


def three_ways(url: str, base: str) -> dict[str, Way]:
    """The floor, the handlers in-process and the local HTTP stack (at ``base``)."""
    return {
        "floor": lambda owner, bearer: FloorClient(url, owner=owner),
        "handler": lambda owner, bearer: HandlerClient(bearer),
        "http": lambda owner, bearer: HttpClient(base, bearer),
    }


def latency_per_operation(
    url: str, ways: dict[str, Way], users: Users, products: list[str], iterations: int
) -> dict[str, dict[str, list[float]]]:
    """Every operation each way, the ways interleaved: the cart operations and
    ``POST /cart/validate`` on a guest's three-line cart (a guest of each way's own);
    ``POST /cart/merge`` of a fresh two-line guest cart into a signed-in user's one-line cart (both
    made untimed before each merge); ``POST /cart/checkout`` of a signed-in user's three-line cart
    (shared by the ways: each checkout releases the previous one's reservation and reserves again).
    Merge and checkout run half as many iterations."""
    merge_user, checkout_user = users.owner(users.merge_sub), users.owner(users.checkout_sub)
    guests = GuestCarts(url, merge_user, products)
    checkout_floor = FloorClient(url, owner=checkout_user)
    for product in products[:3]:  # the checkout user's cart
        checkout_floor.add(product)
    shoppers = {way: make(None, None) for way, make in ways.items()}
    mergers = {way: make(merge_user, users.merge_token) for way, make in ways.items()}
    checkers = {way: make(checkout_user, users.checkout_token) for way, make in ways.items()}
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


def round_trips_one_way(
    conn: psycopg.Connection[Any],
    guest: Client,
    merger: Client,
    checker: Client,
    guests: GuestCarts,
    products: list[str],
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
    floor = FloorClient(url, owner=guest_owner(handler.token))
    http = HttpClient(base)
    http.token = handler.token

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
                (cart_id(url, handler.token), products[1:size]),
            )
        assert len(handler.get()["items"]) == size
        floor = FloorClient(url, owner=guest_owner(handler.token))
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
    floor = FloorClient(url, owner=guest_owner(handler.token))
    results = []
    with psycopg.connect(url, autocommit=True) as conn:
        for count in counts:
            start = time.perf_counter()
            fill_carts(conn, count)
            insert_s = time.perf_counter() - start
            total = scalar(conn, "select count(*) from cart")
            results.append(
                {"carts": total, "insert_s": insert_s}
                | interleaved({"floor": floor.get, "handler": handler.get}, iterations)
            )
    return results
