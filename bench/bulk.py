"""Section 3b of ``make bench`` (issue 23): a bulk change of 50 lines against one single add, on a
guest's three-line cart, two ways interleaved (``bench.measure.in_turn``):

- *floor*: the store functions on a raw psycopg connection (``store.add_item``, ``store.bulk_change``:
  one pipeline each, no handler);
- *handler*: the Lambda handlers in-process (``POST /cart/items``, ``POST /cart/items/bulk``).

Each iteration, per way: one add of a fourth product (timed), its line removed (untimed); a bulk
change adding 50 new lines (timed); a bulk change removing those 50 lines again (timed). The target
(issue 23): the 50-line bulk change at most 2x one add at p50, in one round trip. Round trips of each
are counted on the way's own connection.

``python -m bench.bulk`` runs this section alone on a scratch database of its own (as ``make bench``
makes it) and writes bench/BULK.md; ``make bench`` runs it among the others, into RESULTS.md."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.clients import FloorClient, HandlerClient
from bench.environment import LIMITS, ROOT, make_products
from bench.measure import clocked, in_turn, percentile, round_trips_of, timed

LINES = 50
BULK = ROOT / "bench" / "BULK.md"
TIMES = "\u00d7"
MEASURES = ("add (one line)", f"bulk: add {LINES} lines", f"bulk: remove {LINES} lines")


class FloorBulk:
    """The floor's bulk change: ``store.bulk_change`` on a FloorClient's connection, as its handler runs it."""

    def __init__(self, floor: FloorClient) -> None:
        self.floor = floor

    def change(self, changes: list[dict[str, Any]]) -> None:
        requested = [
            {"op": c["op"], "item_id": None, "product_id": c["productId"], "variant_id": None,
             "quantity": c.get("quantity"), "attributes": None}
            for c in changes
        ]  # fmt: skip
        rows = self.floor.store.bulk_change(
            self.floor.conn, self.floor.change, requested=requested, limits=LIMITS, default_currency="USD"
        )
        assert rows.lines, "the bulk change answered no cart"


class HandlerBulk:
    def __init__(self, handler: HandlerClient) -> None:
        self.handler = handler

    def change(self, changes: list[dict[str, Any]]) -> None:
        reply = self.handler.shopper.call("POST", "/cart/items/bulk", body={"changes": changes})
        assert reply.status == 200, reply


def measure_bulk(url: str, iterations: int, warmup: int = 5) -> dict[str, Any]:
    products = make_products(url, 3 + 1 + LINES)
    standing, single, many = products[:3], products[3], products[4:]
    adds = [{"op": "add", "productId": product, "quantity": 1} for product in many]
    removes = [{"op": "remove", "productId": product} for product in many]
    floor, handler = FloorClient(url), HandlerClient()
    ways: dict[str, tuple[Any, Any]] = {"floor": (floor, FloorBulk(floor)), "handler": (handler, HandlerBulk(handler))}
    for client, _ in ways.values():
        for product in standing:
            client.add(product)
    samples: dict[str, dict[str, list[float]]] = {way: {m: [] for m in MEASURES} for way in ways}
    for i in range(warmup + iterations):
        for way, (client, bulk) in in_turn(ways, i):
            took, item = clocked(client.add, single)
            client.remove(item)
            times = {MEASURES[0]: took, MEASURES[1]: timed(bulk.change, adds), MEASURES[2]: timed(bulk.change, removes)}
            if i >= warmup:
                for measure, ms in times.items():
                    samples[way][measure].append(ms)
    from cart_common.db import get_database

    trips = {
        "floor": _trips(floor.conn, floor, FloorBulk(floor), single, adds, removes),
        "handler": _trips(get_database().connection(), handler, HandlerBulk(handler), single, adds, removes),
    }
    return {"samples": samples, "trips": trips, "lines_before": len(standing)}


def _trips(conn: Any, client: Any, bulk: Any, single: str, adds: list, removes: list) -> dict[str, int]:
    added: list[str] = []
    counts = {MEASURES[0]: round_trips_of(conn, lambda: added.append(client.add(single)))}
    client.remove(added[0])
    counts[MEASURES[1]] = round_trips_of(conn, bulk.change, adds)
    counts[MEASURES[2]] = round_trips_of(conn, bulk.change, removes)
    return counts


def render_bulk(result: dict[str, Any]) -> list[str]:
    samples, trips = result["samples"], result["trips"]

    def p(values: list[float], q: int) -> str:
        return f"{percentile(values, q):.2f}"

    lines = [
        f"## Bulk changes: {LINES} lines at once against one add (ms)",
        "",
        "| measure | floor p50 | floor p95 | handler p50 | handler p95 | handler / its add (p50) "
        "| round trips (floor / handler) |",
        "|---|---|---|---|---|---|---|",
    ]
    add_floor, add_handler = (percentile(samples[way][MEASURES[0]], 50) for way in ("floor", "handler"))
    for measure in MEASURES:
        f, h = samples["floor"][measure], samples["handler"][measure]
        lines.append(
            f"| {measure} | {p(f, 50)} | {p(f, 95)} | {p(h, 50)} | {p(h, 95)} "
            f"| {percentile(h, 50) / add_handler:.2f}{TIMES} "
            f"| {trips['floor'][measure]} / {trips['handler'][measure]} |"
        )
    worst = max(percentile(samples["handler"][m], 50) for m in MEASURES[1:])
    worst_floor = max(percentile(samples["floor"][m], 50) for m in MEASURES[1:])
    lines += [
        "",
        f"- A guest's cart of {result['lines_before']} lines; the add puts a fourth product in (its line removed "
        f"untimed); the bulk change adds {LINES} new lines, each by every rule of an add (stock, limits, purchase "
        f"rules, currency, one change per line), and the next one removes them again; both ways interleaved.",
        f"- The slower {LINES}-line bulk change takes {worst / add_handler:.2f}{TIMES} one add at p50 through the "
        f"handler ({worst_floor / add_floor:.2f}{TIMES} at the floor); target (issue 23): at most 2{TIMES}, one "
        "round trip.",
        "",
    ]
    return lines


# --- alone: python -m bench.bulk ---------------------------------------------------------------


def main() -> None:
    from bench.environment import api_connection, bench_database, drop_database
    from bench.report import machine
    from bench.run import api_environment, stdout_to_devnull
    from local import cognito as local_cognito

    parser = argparse.ArgumentParser(description="The bulk change section of make bench, alone")
    parser.add_argument("--iterations", type=int, default=200, help="measured iterations per measure and way")
    parser.add_argument("--output", type=Path, default=BULK, help="where the results go (default bench/BULK.md)")
    args = parser.parse_args()
    started, load_before = time.perf_counter(), os.getloadavg()
    server, owner_url = bench_database()
    url, bouncer = api_connection(owner_url, proxy=True)
    cognito = local_cognito.start()
    os.environ.update(api_environment(url, cognito))
    try:
        with stdout_to_devnull():
            result = measure_bulk(url, args.iterations)
    finally:
        cognito.stop()
        if bouncer:
            bouncer.stop()
        drop_database(server, owner_url)
    import platform

    header = [
        "# Bulk changes (issue 23)",
        "",
        f"- `python -m bench.bulk --iterations {args.iterations}` (the section of `make bench`, alone), "
        f"{time.perf_counter() - started:.0f} s; {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC",
        f"- Machine: {machine()}; Python {platform.python_version()}; embedded PostgreSQL, the floor and the "
        f"handlers through PgBouncer in transaction mode as cart_app; load average {load_before[0]:.2f} at the "
        f"start, {os.getloadavg()[0]:.2f} at the end (other work shared the cores"
        + (f"; this run, and the servers it starts, at nice {os.nice(0)}, ahead of it)" if os.nice(0) < 0 else ")"),
        "",
    ]
    text = "\n".join(header + render_bulk(result))
    args.output.write_text(text)
    print(text)
    print(f"Wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
