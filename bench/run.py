"""``make bench``: the cart API measured against the raw-SQL floor, in one run on one database.

Sections (each a function in the modules below; its docstring says exactly what it times):

1. **Latency per operation** (get, add, update, remove, clear, validate, merge, checkout), three ways,
   interleaved (each iteration runs every way in turn, so background load weighs on all alike):
   - *floor*: the operation's own SQL (the data-access module's statements, one pipeline) issued
     directly with psycopg on a raw connection, no handler;
   - *handler*: the Lambda handler invoked in-process with an API Gateway v2 event, warm;
   - *http*: a request through the local HTTP stack (Werkzeug + one worker process, like one Lambda
     execution environment).
2. **Round trips** per operation, counted from libpq's protocol trace (floor and handler).
3. **Validating a 50-line cart** (the seed design's target); a **bulk change of 50 lines** against one add
   (issue 23's target: at most 2x, one round trip; ``bench.bulk``, which also runs alone).
4. **Scaling**: ``GET /cart`` at 1, 10, 100 and 500 lines; and with 1,000 vs 1,000,000 carts in the
   database.
5. **Throughput**: 1, 8 and 32 concurrent clients over real HTTP against the local stack with N
   worker processes, mixed operations.
6. **Cold init** of every function in template.yaml that has a sample event (a fresh process importing
   it with the layer), peak memory, against the 150 ms budget; and where one function's init goes.

Results go to bench/RESULTS.md (with the machine and date), followed by bench/SWEEP.md and
bench/ANALYTICS.md, which ``make bench-sweep`` and ``make bench-analytics`` write (not re-run
here). ``--quick`` is a smoke run.

This file is the entry point: the options, the run's environment (a scratch database, LocalCognito,
the functions' settings) and the order of the sections. The rest is in the modules beside it:

- ``bench.environment``: the cart rules, the scratch database, products;
- ``bench.clients``: the three ways of driving an operation (floor, handler, http) and the local stack;
- ``bench.measure``: timing, percentiles, ways interleaved, round trips;
- ``bench.operations``: sections 1-4; ``bench.load``: section 5; ``bench.cold_start``: section 6;
- ``bench.report``: RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench.bulk import measure_bulk
from bench.clients import serve_local_stack, sign_up_users
from bench.cold_start import cold_starts
from bench.environment import (
    MAX_LINES_PER_CART,
    api_connection,
    bench_database,
    drop_database,
    make_products,
    scalar,
)
from bench.limits import measure_limits
from bench.load import throughput
from bench.operations import (
    count_round_trips,
    latency_per_operation,
    scaling_carts,
    scaling_lines,
    three_ways,
    validate_fifty_lines,
)
from bench.report import ANALYTICS, RESULTS, SWEEP, render

ROOT = Path(__file__).resolve().parent.parent

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
    parser.add_argument(
        "--proxy",
        choices=("pgbouncer", "none"),
        default="pgbouncer",
        help="what the floor and the handlers connect through (default pgbouncer, RDS Proxy's place; none: direct)",
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


def run_sections(args: argparse.Namespace, owner_url: str, url: str, cognito: Any) -> dict[str, Any]:
    """Every section, in an order that keeps them from disturbing one another: the cold starts first,
    on a quiet machine (after the load levels, autovacuum and the workers' exit still compete for the
    two cores), and the database grows to a million carts last. ``url`` is the API's connection (the
    application role, through the proxy); ``owner_url`` the database owner's, for what the application
    role may not do (analyze, in the carts scaling section)."""
    report: dict[str, Any] = {"cold": section("cold init", lambda: cold_starts(args.cold_runs))}
    users = sign_up_users(cognito)
    products = make_products(url, 20)
    base, stop = serve_local_stack(workers=1)
    try:
        ways = three_ways(url, base)
        report["ways"] = section(
            "latency per operation", lambda: latency_per_operation(url, ways, users, products, args.iterations)
        )
        report["validate50"] = section(
            "validate, 50 lines", lambda: validate_fifty_lines(url, base, min(args.iterations, 200))
        )
        report["limits"] = section("rate limits and 304", lambda: measure_limits(products, args.iterations))
        report["bulk"] = section("bulk change, 50 lines", lambda: measure_bulk(url, min(args.iterations, 200)))
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
        "scaling by carts", lambda: scaling_carts(owner_url, (1_000, args.carts), products, min(args.iterations, 200))
    )
    with psycopg.connect(url) as conn:
        report["pg_version"] = scalar(conn, "show server_version")
        report["pg_settings"] = ", ".join(
            f"{name}={scalar(conn, f'show {name}')}" for name in ("fsync", "synchronous_commit", "shared_buffers")
        )
    return report


def api_environment(url: str, cognito: Any) -> dict[str, str]:
    """What the functions read from their environment in the bench: this run's database, signing key
    and LocalCognito, quiet logs; rate limits on (every change takes its token) but never refusing
    the bench's own bursts."""
    return {
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
        **{f"RATE_LIMIT_{name}": "1000000000" for name in ("CHANGES", "GUEST_CARTS", "FAILED_CODES", "CHECKOUTS")},
    }


def main() -> None:
    args = parse_args()
    started, load_before = time.perf_counter(), os.getloadavg()
    from local import cognito as local_cognito

    server_kind = "DATABASE_URL's server" if os.environ.get("DATABASE_URL") else "embedded, Unix socket"
    server, owner_url = bench_database()
    url, bouncer = api_connection(owner_url, proxy=args.proxy == "pgbouncer")
    if bouncer:
        server_kind += "; the floor and the handlers through PgBouncer 1.18 in transaction mode, as cart_app"
    cognito = local_cognito.start()
    os.environ.update(api_environment(url, cognito), BENCH_OWNER_DATABASE_URL=owner_url)
    os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
    warnings.filterwarnings("ignore", category=UserWarning, module="aws_lambda_powertools.metrics.provider.base")
    try:
        with stdout_to_devnull():
            report = run_sections(args, owner_url, url, cognito)
    finally:
        cognito.stop()
        if bouncer:
            bouncer.stop()
        drop_database(server, owner_url)
    report |= {
        "args": vars(args),
        "elapsed_s": time.perf_counter() - started,
        "load_avg": (load_before, os.getloadavg()),
        "server_kind": server_kind,
    }
    text = render(report)
    appended = (SWEEP, ANALYTICS)  # written by their own commands (make bench-sweep, make bench-analytics)
    args.output.write_text(text + "".join("\n" + part.read_text() for part in appended if part.exists()))
    print(text)
    print(f"Wrote {args.output} in {report['elapsed_s']:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
