"""How a figure is taken: wall time of one call, percentiles of many, the ways of an operation timed
in turn, and database round trips counted from libpq's protocol trace. Every section measures with
these, so that one number means the same thing in every table. (Memory is read inside the cold-start
processes themselves: see ``bench.cold_start``.)"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import psycopg


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1] if len(samples) > 1 else samples[0]


def clocked(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """``fn(*args)``'s wall time in ms, and its result."""
    start = time.perf_counter()
    result = fn(*args)
    return (time.perf_counter() - start) * 1000, result


def timed(fn: Callable[..., object], *args: Any) -> float:
    return clocked(fn, *args)[0]


Op = Callable[..., object]


def in_turn[T](ways: dict[str, T], round_: int) -> list[tuple[str, T]]:
    """The ways in their order on even rounds, reversed on odd ones: no way always goes first (after
    an untimed setup) or always follows another's work."""
    order = list(ways.items())
    return order[::-1] if round_ % 2 else order


def interleaved(
    ways: dict[str, Op], iterations: int, setup: Callable[[], tuple] | None = None, warmup: int = 5
) -> dict[str, list[float]]:
    """Each way's ``op`` timed ``iterations`` times after ``warmup`` untimed rounds. Every round runs
    each way once, in turn (the order reversed every other round), so whatever else the machine is
    doing, and whatever a way leaves warm for the next, weighs on all ways alike and the ratios hold.
    ``setup`` (untimed) runs before each call and its result is passed to the op."""
    samples: dict[str, list[float]] = {way: [] for way in ways}
    for i in range(warmup + iterations):
        for way, op in in_turn(ways, i):
            took = timed(op, *(setup() if setup else ()))
            if i >= warmup:
                samples[way].append(took)
    return samples


def round_trips_of(conn: psycopg.Connection[Any], fn: Callable[..., object], *args: Any) -> int:
    """Round trips ``fn(*args)`` makes on ``conn``: the ReadyForQuery messages in libpq's protocol trace."""
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        try:
            fn(*args)
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        return sum(1 for line in trace if "\tB\t" in line and "ReadyForQuery" in line)
