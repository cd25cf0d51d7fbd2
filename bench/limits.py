"""Section 2b of ``make bench`` (issue 14): what the rate limits cost a change, and what a
conditional read saves, on guests' three-line carts:

- a change (a line's quantity set, alternating 1 and 2) with the limits on and off, the two ways
  interleaved in one run, through the Lambda handlers in-process (``PATCH``; settings switched and
  read again untimed before each call; off is ``RATE_LIMITS_ENABLED=false``) and at the floor
  (``store.set_quantity`` alone on the function's connection, with and without the owner's bucket
  statement queued in front). On, the change's pipeline carries ``take_token`` (quotas far above
  what the run spends, so nothing is refused);
- ``GET /cart`` with an ``If-None-Match`` that matches (304, no body) and without one (200).

Round trips of each are counted on the function's connection."""

from __future__ import annotations

import os
from typing import Any

from bench.measure import round_trips_of, timed


def _limits(on: bool) -> None:
    from cart_common.config import get_settings

    os.environ["RATE_LIMITS_ENABLED"] = "true" if on else "false"
    get_settings.cache_clear()
    get_settings()


def measure_limits(products: list[str], iterations: int, warmup: int = 5) -> dict[str, Any]:
    from cart_common.config import get_settings
    from cart_common.db import get_database
    from tests.conftest import Shopper

    shoppers = {"on": Shopper(), "off": Shopper()}
    items = {}
    for way, shopper in shoppers.items():
        _limits(way == "on")
        for product in products[:3]:
            assert shopper.add(product).status == 200
        cart = shopper.get().json
        assert cart is not None
        items[way] = cart["items"][0]["id"]
    samples: dict[str, list[float]] = {
        "change, limits on": [], "change, limits off": [], "floor change, limits on": [],
        "floor change, limits off": [], "get 200": [], "get 304": [],
    }  # fmt: skip
    floor = _floor_change(products)
    reader = shoppers["off"]
    etag = ""
    try:
        for i in range(warmup + iterations):
            ways = list(shoppers.items())
            for way, shopper in ways if i % 2 else reversed(ways):  # neither way always goes first
                _limits(way == "on")
                took = timed(_change, shopper, items[way], 1 + i % 2)
                if i >= warmup:
                    samples[f"change, limits {way}"].append(took)
            for way in ("on", "off") if i % 2 else ("off", "on"):
                took = timed(floor[way], 1 + i % 2)
                if i >= warmup:
                    samples[f"floor change, limits {way}"].append(took)
            etag = reader.get().headers["ETag"]
            if i % 2:
                full, unchanged = timed(_read, reader, None), timed(_read, reader, etag)
            else:
                unchanged, full = timed(_read, reader, etag), timed(_read, reader, None)
            if i >= warmup:
                samples["get 200"].append(full)
                samples["get 304"].append(unchanged)
        conn = get_database().connection()
        _limits(True)
        trips = {
            "change, limits on": round_trips_of(conn, lambda: shoppers["on"].update(items["on"], quantity=3)),
            "get 304": round_trips_of(
                conn, lambda: shoppers["off"].call("GET", "/cart", headers={"If-None-Match": etag})
            ),
        }
        _limits(False)
        trips["change, limits off"] = round_trips_of(conn, lambda: shoppers["off"].update(items["off"], quantity=3))
        trips["get 200"] = round_trips_of(conn, lambda: shoppers["off"].get())
        for way in ("on", "off"):
            trips[f"floor change, limits {way}"] = round_trips_of(conn, floor[way], 3)
    finally:
        os.environ.pop("RATE_LIMITS_ENABLED", None)
        get_settings.cache_clear()
    return {"samples": samples, "trips": trips}


def _floor_change(products: list[str]) -> dict[str, Any]:
    """For each way, a call that sets the quantity of a line of its own guest cart with
    ``store.set_quantity`` on the function's connection (with the owner's bucket in front, on)."""
    import uuid

    import psycopg

    from cart_common import store
    from cart_common.config import Limits, RatePolicy
    from cart_common.db import get_database, queue
    from cart_common.session import Owner
    from cart_common.store import limits as rate

    database, policy, calls = get_database(), RatePolicy("changes", 1_000_000_000, 60), {}
    for way in ("on", "off"):
        owner = Owner("guest", f"bench-limits-{way}-{uuid.uuid4().hex}")

        def add(conn: psycopg.Connection, owner: Owner = owner) -> store.CartRows:
            return store.add_item(
                conn, store.Change(owner, 30), product_id=uuid.UUID(products[0]), variant_id=None, quantity=1,
                attributes={}, limits=Limits(99), default_currency="USD",
            )  # fmt: skip

        def rows(conn: psycopg.Connection, owner: Owner = owner) -> store.CartRows:
            return store.cart_rows(conn, owner)

        database.run(add)
        item = database.run(rows).lines[0]["item_id"]

        def change(quantity: int, owner: Owner = owner, item: Any = item, on: bool = way == "on") -> None:
            def work(conn: Any) -> None:
                if on:
                    queue(conn, [rate.change(policy, owner)], rows=[])
                store.set_quantity(conn, store.Change(owner, 30), item_id=item, quantity=quantity, limits=Limits(99))

            database.run(work)

        calls[way] = change
    return calls


def _change(shopper: Any, item: str, quantity: int) -> None:
    reply = shopper.update(item, quantity=quantity)
    assert reply.status == 200, reply


def _read(shopper: Any, etag: str | None) -> None:
    """``GET /cart``, conditional when ``etag`` is given (then it must be 304)."""
    reply = shopper.call("GET", "/cart", headers={"If-None-Match": etag} if etag else {})
    assert reply.status == (304 if etag else 200), reply


def render_limits(result: dict[str, Any]) -> list[str]:
    """The section's table: p50/p95 of each, round trips, and the two ratios the issue asks for."""
    from bench.measure import percentile

    def p(values: list[float], q: int) -> str:
        return f"{percentile(values, q):.2f}"

    samples, trips = result["samples"], result["trips"]
    on, off = (percentile(samples[f"change, limits {way}"], 50) for way in ("on", "off"))
    floor_on, floor_off = (percentile(samples[f"floor change, limits {way}"], 50) for way in ("on", "off"))
    full, unchanged = percentile(samples["get 200"], 50), percentile(samples["get 304"], 50)
    return [
        "## Rate limits and conditional reads (ms)",
        "",
        "| measure | p50 | p95 | round trips |",
        "|---|---|---|---|",
        *(f"| {name} | {p(values, 50)} | {p(values, 95)} | {trips[name]} |" for name, values in samples.items()),
        "",
        f"- A change with the limits on takes {100 * (on / off - 1):+.1f} % at p50 against the limits off (goal: at "
        "most +5 %): the owner's bucket is one more statement in the change's own pipeline (`PATCH` of a line's "
        "quantity on a three-line guest cart, the handlers in-process, the two ways interleaved); at the floor "
        f"(the statements alone) {100 * (floor_on / floor_off - 1):+.1f} % ({floor_on - floor_off:+.3f} ms).",
        f"- `GET /cart` answered 304 (If-None-Match current) takes {unchanged / full:.2f}{TIMES} a full 200 read at "
        "p50: the cart's version is read, and the views never run.",
        "",
    ]


TIMES = "\u00d7"
