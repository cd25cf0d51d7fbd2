"""Section 2b of ``make bench`` (issue 14): what the rate limits cost a change, and what a
conditional read saves. The Lambda handlers in-process (the handler way of section 1), on a guest's
three-line cart each:

- a change (``PATCH`` a line's quantity, alternating 1 and 2) with the limits on and off, the two
  ways interleaved in one run: on, the change's pipeline carries ``take_token`` on the owner's
  bucket (quotas far above what the run spends, so nothing is refused); off
  (``RATE_LIMITS_ENABLED=false``), it does not. Settings are switched and read again untimed
  before each call;
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
    samples: dict[str, list[float]] = {"change, limits on": [], "change, limits off": [], "get 200": [], "get 304": []}
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
    finally:
        os.environ.pop("RATE_LIMITS_ENABLED", None)
        get_settings.cache_clear()
    return {"samples": samples, "trips": trips}


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
        "quantity on a three-line guest cart, the handlers in-process, the two ways interleaved).",
        f"- `GET /cart` answered 304 (If-None-Match current) takes {unchanged / full:.2f}{TIMES} a full 200 read at "
        "p50: the cart's version is read, and the views never run.",
        "",
    ]


TIMES = "\u00d7"
