"""``make bench-analytics`` (``python -m bench.analytics``): the merchant's cart analytics route,
``GET /admin/analytics/carts``, on the bench's scaling database (1,000,000 carts, made by
``bench.environment.fill_carts`` as the carts-scaling section makes them), against its budget:
p95 <= 50 ms. Writes bench/ANALYTICS.md, which ``make bench`` appends to RESULTS.md as it does
SWEEP.md.

The database is given a year of history around its carts, as a shop a year in has it: the carts
created over the last 365 days instead of all at once, and the sources the daily rollup reads
(issue 23, cart_common/analytics.py) over the same year: CartAbandoned (30 % of the carts, one to
three lines each), CheckoutCompleted (10 %) and CartRecovered (3 %) outbox rows, and removed lines
(20 %), over 1,000 products, the popular ones far more often (a power law). Then the rollup computes
every day of the year as the sweep computes one (each day timed), and the route is timed on ranges
of 7, 30, 90 and 366 days, every range and both ways in turn each iteration:

- *floor*: the report's one pipeline (``store.analytics.report``) on a raw psycopg connection;
- *handler*: the Lambda handler in-process with an API Gateway v2 event carrying an admin's Cognito
  access token (LocalCognito), so token verification, validation and the JSON answer are in it.

Both connect as ``make bench``'s do: as the application role, through PgBouncer in transaction mode.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

import psycopg

from bench.environment import (
    api_connection,
    bench_database,
    drop_database,
    fill_carts,
    make_products,
    scalar,
)
from bench.measure import Op, interleaved, percentile, round_trips_of
from bench.report import ANALYTICS

HEADING = "## Cart analytics"
ROUTE = "/admin/analytics/carts"
BUDGET_P95_MS = 50.0
RANGES = ((7, "day"), (30, "day"), (90, "week"), (366, "day"), (366, "month"))


def build_history(conn: psycopg.Connection[Any], products: list[str], days: int) -> dict[str, int]:
    """The rollup's sources over the last ``days`` days for the carts ``conn``'s database holds
    (see the module docstring); how many of each."""
    carts = scalar(conn, "select count(*) from cart")
    counts = {
        "CartAbandoned": carts * 30 // 100,
        "CheckoutCompleted": carts // 10,
        "CartRecovered": carts * 3 // 100,
    }
    # A product's rank by the power law: the first products are far more often picked.
    pick = "(%(products)s::uuid[])[1 + floor(power(random(), 3) * cardinality(%(products)s::uuid[]))::int]"
    for kind, count in counts.items():
        conn.execute(
            f"""
            insert into cart_event (detail_type, detail, created_at, published_at)
            select %(kind)s, jsonb_build_object(
                       'cartId', gen_random_uuid(), 'currency', 'USD', 'value', 500 + (random() * 20000)::int,
                       'subtotal', 500 + (random() * 30000)::int, 'abandonedValue', 1000,
                       'lines', (select jsonb_agg(jsonb_build_object(
                                     'productId', {pick}, 'quantity', 1 + (random() * 3)::int))
                                 from generate_series(0, (random() * 2)::int + g * 0))),
                   t, t
            from (select g, now() - random() * %(days)s * interval '1 day' as t
                  from generate_series(1, %(count)s) g) x
            """,
            {"kind": kind, "count": count, "days": days, "products": products},
        )
    counts["removed lines"] = carts // 5
    conn.execute(
        f"""
        insert into cart_line_removal (removed_at, product_id, quantity)
        select now() - random() * %(days)s * interval '1 day', {pick}, 1 + (random() * 3)::int
        from generate_series(1, %(count)s) g
        """,
        {"count": counts["removed lines"], "days": days, "products": products},
    )
    conn.execute("vacuum analyze cart_event")
    conn.execute("vacuum analyze cart_line_removal")
    return counts


def roll_up_year(url: str, days: int) -> list[float]:
    """Every day of the last ``days`` and today, as the sweep computes one (as the application
    role, through the proxy): each day's time in ms, oldest first."""
    from cart_common import analytics
    from cart_common.db import Database

    database = Database()
    today = datetime.now(UTC).date()
    took = []
    try:
        for offset in range(days, -1, -1):
            day = today - timedelta(days=offset)
            start = time.perf_counter()
            database.run(partial(analytics.roll_up_day, day=day, live=offset == 0, active_hours=24))
            took.append((time.perf_counter() - start) * 1000)
    finally:
        database.close()
    return took


def admin_token(cognito: Any) -> str:
    """An access token of a LocalCognito user in the ``admin`` group."""
    client = cognito.client()
    with contextlib.suppress(client.exceptions.GroupExistsException):
        client.create_group(GroupName="admin", UserPoolId=cognito.user_pool_id)
    email, password = f"bench-admin-{uuid.uuid4().hex[:8]}@example.com", "Correct-horse-9"
    cognito.sign_up(email, password)
    client.admin_add_user_to_group(UserPoolId=cognito.user_pool_id, Username=email, GroupName="admin")
    return str(cognito.sign_in(email, password)["AccessToken"])


def measure(url: str, token: str, iterations: int) -> list[dict[str, Any]]:
    """Every range, floor and handler, all in turn in each iteration (``interleaved``: whatever else
    the machine does weighs on every range alike); and the floor's round trips."""
    from cart_common.store import analytics as store
    from local import stack
    from tests.conftest import Reply, http_event, routes

    route = routes()[("GET", ROUTE)]
    handler = stack.load_function(route)
    today = datetime.now(UTC).date()
    with psycopg.connect(url, autocommit=True, prepare_threshold=None, row_factory=psycopg.rows.dict_row) as conn:
        ways: dict[str, Op] = {}
        floors = {}
        for days, bucket in RANGES:
            start = today - timedelta(days=days - 1)
            query = {"from": start.isoformat(), "to": today.isoformat(), "bucket": bucket}

            def floor(start: Any = start, bucket: str = bucket) -> None:
                store.report(conn, start=start, end=today, bucket=bucket, top=10)  # type: ignore[arg-type]

            def via_handler(query: dict[str, str] = query) -> None:
                event = http_event("GET", ROUTE, headers={"authorization": f"Bearer {token}"})
                event["queryStringParameters"] = query
                event["rawQueryString"] = urlencode(query)
                reply = Reply(handler(event, stack.LambdaContext(route.function, 10)))
                assert reply.status == 200, reply

            ways[f"{days} {bucket} floor"], ways[f"{days} {bucket} handler"] = floor, via_handler
            floors[(days, bucket)] = floor
        samples = interleaved(ways, iterations, warmup=10)
        return [
            {
                "days": days,
                "bucket": bucket,
                "samples": {way: samples[f"{days} {bucket} {way}"] for way in ("floor", "handler")},
                "round_trips": round_trips_of(conn, floors[(days, bucket)]),
            }
            for days, bucket in RANGES
        ]


def section(r: dict[str, Any]) -> str:
    from bench.report import machine

    def p(samples: list[float], q: int) -> str:
        return f"{percentile(samples, q):.2f}"

    rollup = r["rollup_ms"]
    lines = [
        HEADING,
        "",
        f"- Date: {r['date']}; {machine()}; Python {sys.version.split()[0]}, PostgreSQL {r['pg_version']} "
        "(embedded, Unix socket); the floor and the handler through PgBouncer 1.18 in transaction mode, as cart_app; "
        "`make bench-analytics`",
        f"- The scaling database: {r['carts']:,} carts (`fill_carts`, created over the last {r['days']} days), "
        + ", ".join(f"{count:,} {kind}" for kind, count in r["history"].items())
        + f" over the same days and {r['products']:,} products; the rollup: {r['rollup_rows']}",
        f"- Load average when the run started: {r['load']:.2f} (a shared machine: latencies are indicative)",
        "",
        f"`GET {ROUTE}` (ms, {r['iterations']} iterations, each timing every range floor and handler in turn; "
        f"budget p95 <= {BUDGET_P95_MS:.0f} ms):",
        "",
        "| range | bucket | floor p50 | floor p95 | handler p50 | handler p95 | round trips | within budget |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for each in r["ranges"]:
        floor, handler = each["samples"]["floor"], each["samples"]["handler"]
        ok = percentile(handler, 95) <= BUDGET_P95_MS
        lines.append(
            f"| {each['days']} days | {each['bucket']} | {p(floor, 50)} | {p(floor, 95)} | {p(handler, 50)} | "
            f"{p(handler, 95)} | {each['round_trips']} | {'yes' if ok else '**no**'} |"
        )
    lines += [
        "",
        f"The rollup, one day as the sweep computes it ({len(rollup)} days): p50 {p(rollup, 50)} ms, "
        f"p95 {p(rollup, 95)} ms, max {max(rollup):.1f} ms (today's, which also counts the open carts: "
        f"{rollup[-1]:.1f} ms). The route reads only the rollup: its time follows the range's days and "
        "products, not the number of carts.",
        "",
    ]
    return "\n".join(lines)


def write(text: str) -> None:
    ANALYTICS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carts", type=int, default=1_000_000, help="carts in the scaling database (1,000,000)")
    parser.add_argument("--days", type=int, default=365, help="days of history (365)")
    parser.add_argument("--iterations", type=int, default=300, help="timed requests per range and way (300)")
    parser.add_argument("--products", type=int, default=1000, help="products the history names (1,000)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    from bench.run import api_environment
    from local import cognito as local_cognito

    server, owner_url = bench_database()
    url, bouncer = api_connection(owner_url, proxy=True)
    cognito = local_cognito.start()
    os.environ.update(api_environment(url, cognito))
    try:
        token = admin_token(cognito)
        products = make_products(url, args.products)
        with psycopg.connect(owner_url, autocommit=True) as conn:
            started = time.perf_counter()
            fill_carts(conn, args.carts, spread_days=args.days)
            history = build_history(conn, products, args.days)
            print(f"bench: history built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            pg_version = scalar(conn, "show server_version")
            carts = scalar(conn, "select count(*) from cart")
        rollup_ms = roll_up_year(url, args.days)
        with psycopg.connect(owner_url, autocommit=True) as conn:
            conn.execute(
                "vacuum analyze analytics_day, analytics_day_value, analytics_day_product, analytics_month_product"
            )
            rows = {
                table: scalar(conn, f"select count(*) from {table}")
                for table in (
                    "analytics_day",
                    "analytics_day_value",
                    "analytics_day_product",
                    "analytics_month_product",
                )
            }
        ranges = measure(url, token, args.iterations)
    finally:
        cognito.stop()
        if bouncer:
            bouncer.stop()
        drop_database(server, owner_url)
    text = section(
        {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "pg_version": pg_version,
            "carts": carts,
            "days": args.days,
            "history": history,
            "products": args.products,
            "rollup_rows": ", ".join(f"{n:,} rows in {table}" for table, n in rows.items()),
            "load": load,
            "iterations": args.iterations,
            "rollup_ms": rollup_ms,
            "ranges": ranges,
        }
    )
    write(text)
    print(text)


if __name__ == "__main__":
    main()
