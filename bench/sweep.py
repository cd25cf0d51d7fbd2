"""``make bench-sweep``: the lifecycle sweep against 100,000 expired carts, with shoppers using the
database at the same time.

For each batch size: a fresh fleet of expired guest carts (two lines each, expiries spread over the
last month) plus live carts with lines (half of them idle for two days, so the sweep marks them
abandoned); ``ANALYZE``; then the sweep (``cart_common.lifecycle.sweep``, as the scheduled function
runs it, on its own connection, runs of 300 s until one says it is complete) while two loops run
``store.add_item``, each in a process and on a connection of its own, as other execution
environments would:

- **live shoppers**: adds to live carts (never candidates for deletion), back to back;
- **returning shoppers**: adds to carts of the expired fleet, chosen at random, as if their owners came
  back during the sweep. Such a cart is either still there (the add slides its expiry and the sweep
  keeps it), locked in the batch being deleted (the add waits for that batch, then starts a new cart),
  or already gone (a new cart). Their longest wait is the worst a shopper can see.

Reported: carts deleted per second, batches, and each loop's p50/p99/max latency during the sweep
against the live loop's latency before it. Results go to bench/SWEEP.md, and into bench/RESULTS.md
as its "## Expiry sweep" section (``make bench`` keeps that section when it rewrites the file).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import secrets
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.environment import bench_database, drop_database  # a scratch database like make bench's

ROOT = Path(__file__).resolve().parent.parent

SWEEP = ROOT / "bench" / "SWEEP.md"
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Expiry sweep"
LAMBDA_TIMEOUT_MS = 300_000  # ExpireCartsFunction's Timeout


def connect(url: str) -> psycopg.Connection[Any]:
    """A connection as the functions open theirs (autocommit, no server-side prepares, dict rows)."""
    return psycopg.connect(url, autocommit=True, prepare_threshold=None, row_factory=dict_row)


def value(conn: psycopg.Connection[Any], query: str, column: str) -> Any:
    """``column`` of the one row ``query`` returns."""
    row = conn.execute(query).fetchone()
    assert row is not None, query
    return row[column]


def percentile(samples: list[float], q: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else 0.0
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


@dataclass
class Latencies:
    samples: list[float] = field(default_factory=list)
    errors: int = 0

    def row(self) -> str:
        s = self.samples
        return f"{len(s)} | {percentile(s, 50):.2f} | {percentile(s, 99):.2f} | {max(s, default=0):.1f}"


def build_fleet(conn: psycopg.Connection[Any], product: str, expired: int, live: int) -> tuple[list[str], list[str]]:
    """``expired`` expired guest carts with two lines each and ``live`` live ones (half idle two
    days); returns the owners (session hashes) of the expired and of the live-and-active carts."""
    conn.execute(
        "insert into product (id, name, slug, price, currency, stock)"
        " values (%s, 'Sweep bench', %s, 1000, 'USD', 100000000)",
        (product, f"sweep-{product[:8]}"),
    )
    conn.execute(
        """
        insert into cart (session_id, currency, created_at, last_activity_at, updated_at, expires_at)
        select 'expired-' || g || '-' || md5(random()::text), 'USD',
               t - interval '30 days', t, t, t + interval '30 days'
        from (select g, now() - interval '31 days' - make_interval(secs => (random() * 30 * 86400)::int) as t
              from generate_series(1, %s) g) s
        """,
        (expired,),
    )
    conn.execute(
        """
        insert into cart (session_id, currency, last_activity_at)
        select 'live-' || g || '-' || md5(random()::text), 'USD',
               case when g %% 2 = 0 then now() - interval '2 days' else now() end
        from generate_series(1, %s) g
        """,
        (live,),
    )
    for product_id in (product, "00000000-0000-4000-8000-000000000003"):  # the bench product and the demo mug
        conn.execute(
            "insert into cart_item (cart_id, product_id, quantity, price_at_add) select id, %s, 2, 1000 from cart",
            (product_id,),
        )
    conn.execute("analyze cart")
    conn.execute("analyze cart_item")
    owners = "select session_id from cart where session_id like %s and last_activity_at > now() - %s::interval"
    expired_owners = [r["session_id"] for r in conn.execute(owners, ("expired-%", "1000 years"))]
    live_owners = [r["session_id"] for r in conn.execute(owners, ("live-%", "1 hour"))]
    return expired_owners, live_owners


def add_loop(url: str, owners: list[str], product: str, stop: Any, results: Any, pause_s: float) -> None:
    """Adds through the data-access module, timed one by one, until ``stop`` is set; the
    latencies go back through ``results`` (a pipe). Runs in a process of its own."""
    from cart_common import store
    from cart_common.config import Limits
    from cart_common.errors import Problem
    from cart_common.session import Owner

    rng = random.Random(owners[0])
    out = Latencies()
    with connect(url) as conn:
        while not stop.is_set():
            owner = Owner("guest", rng.choice(owners))
            started = time.perf_counter()
            try:
                store.add_item(
                    conn,
                    store.Change(owner, 30),
                    product_id=uuid.UUID(product),
                    variant_id=None,
                    quantity=1,
                    attributes={},
                    limits=Limits(10_000),
                    default_currency="USD",
                )
            except (Problem, psycopg.errors.RaiseException):
                out.errors += 1  # a rule (never expected here); still a completed operation
            out.samples.append((time.perf_counter() - started) * 1000)
            if pause_s:
                time.sleep(pause_s)
    results.send(out)


class Loops:
    """Operation loops in processes of their own, started together and stopped together."""

    def __init__(self, url: str, product: str, loops: list[tuple[list[str], float]]) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.pipes, self.processes = [], []
        for owners, pause_s in loops:
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=add_loop, args=(url, owners, product, self.stop, send, pause_s))
            process.start()
            self.pipes.append(receive)
            self.processes.append(process)

    def finish(self) -> list[Latencies]:
        self.stop.set()
        results = [pipe.recv() for pipe in self.pipes]
        for process in self.processes:
            process.join()
        return results


class LambdaClock:
    """The remaining time of one 300 s invocation."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + LAMBDA_TIMEOUT_MS / 1000

    def __call__(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def measure(url: str, batch: int, expired: int, live: int) -> dict:
    from cart_common.db import Database
    from cart_common.lifecycle import SweepReport, sweep

    product = str(uuid.uuid4())
    with connect(url) as conn:
        conn.execute("delete from cart")  # the previous round's leftovers
        conn.execute("delete from product where slug like 'sweep-%%'")
        expired_owners, live_owners = build_fleet(conn, product, expired, live)

    # Before: the live loop alone, for a baseline.
    loops = Loops(url, product, [(live_owners, 0)])
    time.sleep(4)
    (baseline,) = loops.finish()

    loops = Loops(url, product, [(live_owners, 0), (expired_owners, 0.002)])
    time.sleep(1)  # the processes have started and are adding
    database = Database()
    runs: list[SweepReport] = []
    started = time.perf_counter()
    try:
        while not (runs and runs[-1].complete):
            runs.append(sweep(database, LambdaClock(), batch_size=batch))
    finally:
        elapsed_s = time.perf_counter() - started
        during, returning = loops.finish()
        database.close()

    with connect(url) as conn:
        left = value(conn, "select count(*) as n from cart where expires_at < now()", "n")
        kept = value(
            conn,
            "select count(*) as n from cart"
            " where session_id like 'expired-%%' and created_at < now() - interval '1 day'",
            "n",
        )
    deleted = sum(r.expired for r in runs)
    assert left == 0, f"{left} expired carts left after a complete sweep"
    assert deleted + kept == expired, (deleted, kept, expired)
    return {
        "batch": batch,
        "deleted": deleted,
        "kept": kept,
        "marked": sum(r.marked_abandoned for r in runs),
        "runs": len(runs),
        "batches": sum(r.batches for r in runs),
        "slowest_batch_ms": max(r.slowest_batch_ms for r in runs),
        "seconds": elapsed_s,
        "rate": deleted / elapsed_s,
        "baseline": baseline,
        "during": during,
        "returning": returning,
    }


def section(results: list[dict], expired: int, live: int, pg_version: str) -> str:
    lines = [
        HEADING,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, PostgreSQL {pg_version} (embedded, Unix socket); `make bench-sweep`",
        f"- {expired:,} expired guest carts (2 lines each) and {live:,} live carts (2 lines; half idle 2 days, "
        "marked abandoned by the same run), rebuilt and analysed for each batch size",
        "- Concurrently, each in a process and on a connection of its own: live shoppers adding to live carts "
        "back to back, and returning shoppers adding to random carts of the expired fleet every 2 ms",
        f"- Load average when the run started: {LOAD[0]:.2f} (a shared machine: latencies are indicative)",
        "",
        "| batch | carts deleted | kept (touched) | marked abandoned | runs | batches | slowest batch ms | "
        "seconds | carts/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['batch']} | {r['deleted']:,} | {r['kept']} | {r['marked']} | {r['runs']} | {r['batches']} | "
            f"{r['slowest_batch_ms']} | {r['seconds']:.1f} | {r['rate']:,.0f} |"
        )
    lines += [
        "",
        "Concurrent `add_item` latency (ms):",
        "",
        "| batch | loop | operations | p50 | p99 | longest wait |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['batch']} | live carts, before the sweep | {r['baseline'].row()} |")
        lines.append(f"| {r['batch']} | live carts, during the sweep | {r['during'].row()} |")
        lines.append(f"| {r['batch']} | returning owners of expired carts | {r['returning'].row()} |")
    lines += [
        "",
        "A live cart is never a candidate, so its operations only share the machine with the sweep. A "
        "returning owner whose cart is in the batch being deleted waits for that batch (at most the "
        "slowest batch) and then gets a new cart; one whose cart was not reached yet keeps it (the add "
        "slides its expiry; those are the kept carts). The sweep itself never waits: it skips locked rows.",
        "",
    ]
    return "\n".join(lines)


def write(text: str) -> None:
    """bench/SWEEP.md is this section; bench/RESULTS.md gets it in place of any earlier one."""
    SWEEP.write_text(text)
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    before, found, after = existing.partition(HEADING)
    rest = after[after.find("\n## ") + 1 :] if found and "\n## " in after else ""
    RESULTS.write_text(before.rstrip("\n") + "\n\n" + text + ("\n" + rest if rest else ""))


LOAD: list[float] = []


def main() -> None:
    LOAD.append(os.getloadavg()[0])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carts", type=int, default=100_000, help="expired carts per round")
    parser.add_argument("--live", type=int, default=2_000, help="live carts per round")
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default: 250, 1000, 5000)")
    args = parser.parse_args()
    batches = args.batch or [250, 1000, 5000]

    server, url = bench_database()
    os.environ.update(
        {
            "DATABASE_URL": url,
            "SESSION_SIGNING_KEY": secrets.token_urlsafe(48),
            "POWERTOOLS_SERVICE_NAME": "cart-api",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    try:
        with connect(url) as conn:
            pg_version = value(conn, "show server_version", "server_version")
        results = []
        for batch in batches:
            print(f"batch {batch}: building {args.carts:,} expired carts ...", flush=True)
            results.append(measure(url, batch, args.carts, args.live))
            r = results[-1]
            print(
                f"  {r['deleted']:,} deleted in {r['seconds']:.1f} s ({r['rate']:,.0f} carts/s); longest wait: "
                f"live {max(r['during'].samples):.1f} ms, returning {max(r['returning'].samples):.1f} ms"
            )
    finally:
        drop_database(server, url)
    text = section(results, args.carts, args.live, pg_version)
    write(text)
    print(text)


if __name__ == "__main__":
    main()
