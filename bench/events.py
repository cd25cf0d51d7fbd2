"""``python -m bench.events``: how long an event takes from its commit to the bus, locally.

The functions' path exactly as in a change: a pipeline that writes an outbox row (``store.events.append``)
runs on the layer's connection (as the application role, through PgBouncer in transaction mode), its
last statement reads the row back, and after the commit ``cart_common.events`` publishes it with boto3's
``PutEvents`` to the local bus (local/bus.py, on a port of its own, AWS_ENDPOINT_URL_EVENTBRIDGE). The
clock starts when the pipeline has returned (the commit: the implicit transaction ends with the
pipeline's Sync) and stops when the bus has the event. Sequential, ``--events`` of them after a warm-up.
Results go to bench/EVENTS.md. In AWS the same path adds the PutEvents call through the VPC endpoint;
an event the process could not publish waits for the relay (docs/events.md has the bound).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import secrets
import statistics
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from time import perf_counter
from typing import Any

from bench.environment import api_connection, bench_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "bench" / "EVENTS.md"


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def measure(count: int) -> list[float]:
    from cart_common import db, events
    from cart_common.store.events import append
    from local.bus import BusServer, LocalBus

    committed: dict[str, float] = {}
    arrived: dict[str, float] = {}

    class TimedBus(LocalBus):
        def put(self, source: str, detail_type: str, detail: dict[str, Any], time: Any = None) -> str:
            arrived[detail["eventId"]] = perf_counter()
            return super().put(source, detail_type, detail, time)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per PutEvents
    server = BusServer(TimedBus(rules=[])).start()
    os.environ.update({"AWS_ENDPOINT_URL_EVENTBRIDGE": server.endpoint, "EVENT_BUS_NAME": "bench"})
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    real_publish = events.publish

    def publish(conn: Any, rows: Any) -> None:
        now = perf_counter()  # the pipeline has returned: its transaction is committed
        for row in rows:
            committed[str(row["id"])] = now
        real_publish(conn, rows)

    def write(conn: Any, n: int) -> None:
        db.pipeline(conn, [append("BenchEvent", {"n": n})])

    events.publish = publish
    database = db.get_database()
    try:
        for n in range(count + 50):  # the first 50 warm the connection and boto3's client
            database.run(partial(write, n=n))
    finally:
        events.publish = real_publish
        server.stop()
    ids = sorted(committed, key=committed.__getitem__)[50:]
    assert all(event_id in arrived for event_id in ids), "an event never reached the bus"
    return [(arrived[event_id] - committed[event_id]) * 1000 for event_id in ids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    server, url = bench_database()
    api_url, bouncer = api_connection(url, proxy=True)
    try:
        os.environ.update(
            {"DATABASE_URL": api_url, "SESSION_SIGNING_KEY": secrets.token_urlsafe(48),
             "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
        )  # fmt: skip
        samples = measure(args.events)
    finally:
        if bouncer:
            bouncer.stop()
        drop_database(server, url)
    p50, p95, p99 = (percentile(samples, q) for q in (50, 95, 99))
    lines = [
        "# Commit to bus, locally",
        "",
        f"`python -m bench.events` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs. {len(samples)} events, "
        "one at a time, each written by a pipeline on the layer's connection (application role, PgBouncer in "
        "transaction mode) and published after its commit with boto3's PutEvents to the local bus (local/bus.py).",
        "",
        "| events | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
        f"| {len(samples)} | {p50:.2f} | {p95:.2f} | {p99:.2f} | {max(samples):.2f} |",
        "",
        "From the commit (the pipeline returned) to the bus holding the event. What an event the process could not "
        "publish waits for instead (the relay, every minute, 30 s after the commit) is in "
        "[docs/events.md](../docs/events.md#the-outbox-and-the-relay).",
        "",
    ]
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
