"""``make bench``: every cart operation measured three ways in one run on one database, side by side:

- **floor**: the operation's own SQL (the data-access module's statements, one pipeline) issued
  directly with psycopg, no handler;
- **handler**: the Lambda handler invoked in-process with an API Gateway event, warm;
- **http**: a request through the local HTTP stack (Werkzeug + one worker process, like one Lambda
  execution environment).

Plus database round trips per operation, counted from libpq's protocol trace, and each function's
cold init (a fresh process importing the function with the layer) and peak memory. Results go to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common"), str(ROOT / "db")]

import psycopg  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

import migrate  # noqa: E402
from local import postgres, stack, template  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
FUNCTIONS = ["get_cart", "add_item", "update_item", "remove_item", "clear_cart"]


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1] if len(samples) > 1 else samples[0]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


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


class Product:
    def __init__(self, conn: psycopg.Connection) -> None:
        row = conn.execute(
            "insert into product (name, slug, price, currency, stock) values ('Bench', %s, 1000, 'USD', 1000000)"
            " returning id",
            (f"bench-{uuid.uuid4().hex[:8]}",),
        ).fetchone()
        self.id = str(row["id"])


# --- the three ways of running one operation ----------------------------------------------------


class FloorClient:
    """The operations' SQL on a plain psycopg connection."""

    def __init__(self, url: str) -> None:
        from cart_common import store
        from cart_common.session import Owner

        self.store = store
        self.conn = psycopg.connect(url, autocommit=True, prepare_threshold=None, row_factory=dict_row)
        self.owner = Owner("guest", secrets.token_hex(32))

    def get(self) -> list:
        return self.store.cart_rows(self.conn, self.owner)

    def add(self, product: str) -> str:
        rows = self.store.add_line(
            self.conn, self.owner, product_id=uuid.UUID(product), variant_id=None, quantity=1, attributes={},
            max_line=99, ttl_days=30, default_currency="USD",
        )
        return str(next(r["item_id"] for r in rows if str(r["product_id"]) == product))

    def update(self, item: str) -> None:
        self.store.set_quantity(self.conn, self.owner, item_id=uuid.UUID(item), quantity=2, max_line=99, ttl_days=30)

    def remove(self, item: str) -> None:
        self.store.remove_line(self.conn, self.owner, item_id=uuid.UUID(item), ttl_days=30)

    def clear(self) -> None:
        self.store.clear_lines(self.conn, self.owner, ttl_days=30)


class HandlerClient:
    """The Lambda handlers, in-process, with API Gateway v2 events."""

    def __init__(self) -> None:
        from tests.conftest import Shopper

        self.shopper = Shopper()

    def _ok(self, reply):  # noqa: ANN001
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


class HttpClient:
    """Requests through the local HTTP stack."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token: str | None = None

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["X-Cart-Session"] = self.token
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
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


def measure(client, products: list[str], iterations: int) -> dict[str, list[float]]:  # noqa: ANN001
    """Each iteration leaves the cart as it found it: three standing lines plus one that is added,
    updated and removed; a clear and re-fill every tenth iteration."""
    samples: dict[str, list[float]] = {op: [] for op in ("get", "add", "update", "remove", "clear")}
    standing, moving = products[:3], products[3]
    for product in standing:
        client.add(product)
    for i in range(iterations + 5):  # the first five warm up
        keep = i >= 5
        t_get = timed(client.get)
        item: list[str] = []
        t_add = timed(lambda: item.append(client.add(moving)))
        t_update = timed(lambda: client.update(item[0]))
        t_remove = timed(lambda: client.remove(item[0]))
        if keep:
            samples["get"].append(t_get)
            samples["add"].append(t_add)
            samples["update"].append(t_update)
            samples["remove"].append(t_remove)
        if i % 10 == 0:
            t_clear = timed(client.clear)
            if keep:
                samples["clear"].append(t_clear)
            for product in standing:
                client.add(product)
    return samples


def count_round_trips(products: list[str]) -> dict[str, int]:
    from cart_common.db import get_database

    client = HandlerClient()
    client.add(products[0])
    conn = get_database().connection()
    counts = {}

    def trips(fn: Callable[[], object]) -> int:
        with tempfile.TemporaryFile("w+") as trace:
            conn.pgconn.trace(trace.fileno())
            try:
                fn()
            finally:
                conn.pgconn.untrace()
            trace.seek(0)
            return sum(1 for line in trace if "\tB\t" in line and "ReadyForQuery" in line)

    counts["get"] = trips(client.get)
    item: list[str] = []
    counts["add"] = trips(lambda: item.append(client.add(products[1])))
    counts["update"] = trips(lambda: client.update(item[0]))
    counts["remove"] = trips(lambda: client.remove(item[0]))
    counts["clear"] = trips(client.clear)
    counts["get (first visit)"] = trips(HandlerClient().get)
    return counts


COLD = """
import json, resource, sys, time
start = time.perf_counter()
sys.path[:0] = [{layer!r}, {code!r}]
import app
init_ms = (time.perf_counter() - start) * 1000
modules = len(sys.modules)
boto3 = "boto3" in sys.modules
rss_init = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
event = json.load(open({event!r}))
class Ctx:
    function_name = "bench"; memory_limit_in_mb = 256; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:bench"
    def get_remaining_time_in_millis(self): return 10000
start = time.perf_counter()
status = app.lambda_handler(event, Ctx())["statusCode"]
first_ms = (time.perf_counter() - start) * 1000
rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(init_ms=init_ms, first_ms=first_ms, rss_init=rss_init, rss_peak=rss_peak,
                      status=status, modules=modules, boto3=boto3)))
"""


def cold_starts(runs: int) -> dict[str, dict[str, float]]:
    results = {}
    for name in FUNCTIONS:
        code = COLD.format(
            layer=str(ROOT / "layers" / "common"), code=str(ROOT / "functions" / name),
            event=str(ROOT / "events" / f"{name}.json"),
        )
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
            process_ms = (time.perf_counter() - start) * 1000
            samples.append(json.loads(out.stdout.strip().splitlines()[-1]) | {"process_ms": process_ms})
        results[name] = {
            key: statistics.median(s[key] for s in samples)
            for key in ("init_ms", "first_ms", "rss_init", "rss_peak", "process_ms", "modules")
        } | {"status": samples[0]["status"], "boto3": samples[0]["boto3"]}
    return results


def validate_fifty_lines(url: str, iterations: int) -> dict[str, list[float]]:
    """``POST /cart/validate`` on a 50-line cart: the readiness query on a raw connection (floor)
    vs the handler (the seed design's target: under 500 ms)."""
    from cart_common import store
    from cart_common.session import Owner

    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        products = [Product(conn).id for _ in range(50)]
    handler = HandlerClient()
    for product in products:
        handler.add(product)
    owner = Owner("guest", __import__("hashlib").sha256(handler.shopper.token.encode()).hexdigest())
    floor_conn = psycopg.connect(url, autocommit=True, prepare_threshold=None, row_factory=dict_row)
    samples: dict[str, list[float]] = {"floor": [], "handler": []}
    for i in range(iterations + 5):
        floor = timed(lambda: store.validate_cart(floor_conn, owner, max_line=99))
        reply: list = []
        took = timed(lambda: reply.append(handler.shopper.call("POST", "/cart/validate")))
        assert reply[0].status == 200 and len(reply[0].json["cart"]["items"]) == 50, reply[0]
        if i >= 5:
            samples["floor"].append(floor)
            samples["handler"].append(took)
    floor_conn.close()
    return samples


def serve_local_stack() -> tuple[str, Callable[[], None]]:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    invoker = stack.make_invoker(workers=1)
    server = make_server("127.0.0.1", 0, stack.LocalApi(invoker), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        invoker.close()

    return f"http://127.0.0.1:{server.server_port}", stop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()

    server, url = bench_database()
    os.environ.update(
        {
            "DATABASE_URL": url, "SESSION_SIGNING_KEY": secrets.token_urlsafe(48),
            "POWERTOOLS_SERVICE_NAME": "cart-api", "POWERTOOLS_METRICS_NAMESPACE": "CartApi",
            "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    try:
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            products = [Product(conn).id for _ in range(4)]
        base, stop = serve_local_stack()
        try:
            ways = {
                "floor": measure(FloorClient(url), products, args.iterations),
                "handler": measure(HandlerClient(), products, args.iterations),
                "http": measure(HttpClient(base), products, args.iterations),
            }
        finally:
            stop()
        trips = count_round_trips(products)
        validate50 = validate_fifty_lines(url, min(args.iterations, 200))
        cold = cold_starts(args.cold_runs)
        with psycopg.connect(url, row_factory=dict_row) as conn:
            carts_in_db = conn.execute("select count(*) as n from cart").fetchone()["n"]
            pg_version = conn.execute("show server_version").fetchone()["server_version"]
    finally:
        drop_database(server, url)

    write_results(ways, trips, cold, args.iterations, carts_in_db, pg_version, validate50)
    print(RESULTS.read_text())


def write_results(ways, trips, cold, iterations: int, carts_in_db: int, pg_version: str, validate50) -> None:  # noqa: ANN001
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {pg_version} (embedded, Unix socket)",
        f"- {iterations} measured iterations per operation and way (5 warm-up), one run, one database "
        f"({carts_in_db} carts at the end)",
        "",
        "## Latency per operation (ms)",
        "",
        "| operation | floor p50 | floor p95 | handler p50 | handler p95 | handler/floor (p50) "
        "| http p50 | http p95 | http/floor (p50) | round trips |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for op in ("get", "add", "update", "remove", "clear"):
        f, h, w = (ways[k][op] for k in ("floor", "handler", "http"))
        lines.append(
            f"| {op} | {percentile(f, 50):.2f} | {percentile(f, 95):.2f} | {percentile(h, 50):.2f} | "
            f"{percentile(h, 95):.2f} | {percentile(h, 50) / percentile(f, 50):.1f}× | {percentile(w, 50):.2f} | "
            f"{percentile(w, 95):.2f} | {percentile(w, 50) / percentile(f, 50):.1f}× | {trips[op]} |"
        )
    lines += [
        "",
        f"A first visit's `GET /cart` makes {trips['get (first visit)']} round trips (no cart, no query).",
        "Clear is sampled every tenth iteration.",
        "",
        "## Validating a 50-line cart (ms)",
        "",
        "| way | p50 | p95 |",
        "|---|---|---|",
        f"| floor (readiness query + cart view, one round trip) | {percentile(validate50['floor'], 50):.2f} "
        f"| {percentile(validate50['floor'], 95):.2f} |",
        f"| handler (POST /cart/validate, in-process) | {percentile(validate50['handler'], 50):.2f} "
        f"| {percentile(validate50['handler'], 95):.2f} |",
        "",
        "The seed design's target is under 500 ms.",
        "",
        "## Cold init per function (median of fresh processes)",
        "",
        "| function | import (init) ms | first invocation ms | process total ms | RSS after init MB "
        "| peak RSS MB | modules | boto3 imported |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in cold.items():
        lines.append(
            f"| {name} | {c['init_ms']:.0f} | {c['first_ms']:.0f} | {c['process_ms']:.0f} | {c['rss_init']:.0f} | "
            f"{c['rss_peak']:.0f} | {c['modules']:.0f} | {'yes' if c['boto3'] else 'no'} |"
        )
    lines += [
        "",
        "Init is the import of the function module with the layer on `sys.path` (what Lambda's init phase "
        "runs); the first invocation includes opening the database connection. Process total includes "
        "interpreter start-up.",
        "",
    ]
    sweep = RESULTS.parent / "SWEEP.md"  # bench/sweep.py's section ("## Expiry sweep"), kept across runs
    if sweep.exists():
        lines.append(sweep.read_text())
    RESULTS.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
