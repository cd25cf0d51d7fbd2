"""``make bench-import``: an import of 100,000 catalog lines while cart operations run, and the
catalog events' apply latency. Writes bench/IMPORT.md.

A scratch database (migrated, the demo catalog); the import and the events run as the functions do
(the application role through PgBouncer in transaction mode, ``cart_common.catalog_import.run`` on a
JSON Lines file, ``catalog_sync.handle_batch`` on SQS batches of 10); two loops of ``store.add_item``
(bench/sweep.py's, each a process with its own connection) add the products the file rewrites, so
every batch's row locks meet the carts' reads of the same products. Reported: the loops' p50/p99
idle and during the import (target: p99 at most 2x idle), lines per second, and per-batch event apply
latency.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench.environment import api_connection, bench_database, drop_database
from bench.sweep import Latencies, Loops, percentile

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "IMPORT.md"
HOT = 50  # products the carts add, rewritten by the file too


def write_file(path: Path, lines: int, hot: list[tuple[str, str]]) -> None:
    version = int(time.time() * 1000)
    with path.open("w") as out:
        for n in range(lines):
            if n % (lines // len(hot)) == 0 and n // (lines // len(hot)) < len(hot):
                pid, slug = hot[n // (lines // len(hot))]
            else:
                pid, slug = str(uuid.uuid4()), f"imp-{n}-{secrets.token_hex(3)}"
            variants = [
                {"id": str(uuid.uuid4()), "sku": f"{slug}-{size}", "attributes": {"size": size}, "stock": 5}
                for size in ("S", "M")
            ] if n % 4 == 0 and not slug.startswith("bench-") else []  # fmt: skip
            product = {"id": pid, "version": version, "name": f"Imported {n}", "slug": slug, "price": 1000 + n % 500,
                       "currency": "USD", "stock": 1_000_000, "variants": variants}  # fmt: skip
            out.write(json.dumps(product) + "\n")


def loops_for(url: str, product: str, seconds: float | None, until: Any = None) -> list[Latencies]:
    owners = [[secrets.token_hex(16) for _ in range(200)] for _ in range(2)]
    loops = Loops(url, product, [(o, 0.0) for o in owners])
    try:
        if until is not None:
            until()
        else:
            time.sleep(seconds or 10)
    finally:
        results = loops.finish()
    return results


def merged(results: list[Latencies]) -> list[float]:
    return [s for r in results for s in r.samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--idle-s", type=float, default=15.0)
    args = parser.parse_args()
    server, url = bench_database()
    api_url, bouncer = api_connection(url, proxy=True)
    os.environ["DATABASE_URL"] = api_url
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CartApi")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            hot = [
                (str(r[0]), str(r[1]))
                for r in conn.execute(
                    "insert into product (name, slug, price, currency, stock) select 'Bench ' || g,"
                    " 'bench-' || g, 1000, 'USD', 1000000 from generate_series(1, %s) g returning id, slug",
                    (HOT,),
                ).fetchall()
            ]
            version = str(conn.execute("select version()").fetchone()[0]).split(",")[0]  # type: ignore[index]
        from cart_common import catalog_import, catalog_sync

        idle = merged(loops_for(url, hot[0][0], args.idle_s))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "catalog.jsonl"
            write_file(path, args.lines, hot)
            outcome: dict[str, Any] = {}

            def run_import() -> None:
                started = time.perf_counter()
                result = catalog_import.run(catalog_import.FileSource(path), lambda: 600_000)
                outcome["seconds"] = time.perf_counter() - started
                outcome["result"] = result

            during = merged(loops_for(url, hot[0][0], None, until=run_import))
        result = outcome["result"]
        assert result.complete and result.applied == args.lines, result.as_dict()
        # Event apply latency: batches of 10 PriceChanged on the hot products, one round trip each.
        apply_ms: list[float] = []
        for n in range(200):
            records = [
                {"messageId": str(i), "body": json.dumps({"source": "shop.catalog", "detail-type": "PriceChanged",
                 "time": "2025-01-01T00:00:00Z", "detail": {"productId": hot[(n * 10 + i) % HOT][0],
                 "version": 10**15 + n * 10 + i, "price": 900 + i, "currency": "USD"}})}
                for i in range(10)
            ]  # fmt: skip
            started = time.perf_counter()
            answer = catalog_sync.handle_batch({"Records": records})
            apply_ms.append((time.perf_counter() - started) * 1000)
            assert answer == {"batchItemFailures": []}, answer
    finally:
        if bouncer:
            bouncer.stop()
        drop_database(server, url)
    idle_p99, during_p99 = percentile(idle, 99), percentile(during, 99)
    rate = f"**{result.lines / outcome['seconds']:,.0f} lines/s**"
    batches = f"{result.batches} batches, slowest {result.slowest_batch_ms} ms"
    events = f"p50 {percentile(apply_ms, 50):.2f} ms, p99 {percentile(apply_ms, 99):.2f} ms"
    text = f"""# Catalog import under load

`make bench-import` ({time.strftime("%Y-%m-%d")}, {platform.machine()}, {os.cpu_count()} cores, {version}):
an import of {args.lines:,} JSON Lines products (a quarter with two variants; {HOT} of them the products
the carts add) through `cart_common.catalog_import.run` in batches of 200, as the application role through
PgBouncer in transaction mode, while two processes add those products to carts back to back
(`store.add_item`, each on its own connection).

| | value |
|---|---|
| import | {result.lines:,} lines in {outcome["seconds"]:.1f} s: {rate} ({batches}) |
| cart add p50 / p99 idle | {percentile(idle, 50):.2f} / {idle_p99:.2f} ms ({len(idle):,} adds) |
| cart add p50 / p99 during the import | {percentile(during, 50):.2f} / {during_p99:.2f} ms ({len(during):,} adds) |
| p99 during / idle | **{during_p99 / idle_p99:.2f}x** (target at most 2x) |
| catalog event apply, a batch of 10 PriceChanged | {events} (one round trip) |

Event apply latency here is the consumer's own time per batch; in AWS add the queue's batching window
(1 s at most) and EventBridge's delivery (typically well under a second): `CatalogEventLagMs` measures
event time to commit there.
"""
    REPORT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
