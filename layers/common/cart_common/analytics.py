"""Cart analytics for the merchant (``GET /admin/analytics/carts``, Cognito group ``admin``;
docs/admin.md#cart-analytics): what carts did over a range of UTC days, read from a daily rollup.

**The rollup** (migration 0018, ``store/analytics.py``) is one row per day plus its values per
currency and its most abandoned and removed products. The hourly sweep maintains it (its second step,
after expiry): each run recomputes, from the sources, every day from the day after the last final one
(at most ``EVENT_RETENTION_DAYS`` back) to today, and a day becomes final on the first run that starts
``FINAL_AFTER_MINUTES`` after its end; a final day is never written again. Each day is a recomputation
that replaces the day's rows, never an increment, so the runs' at-least-once nature (Lambda's retries,
a run overlapping the next) cannot count anything twice. Why the sweep and not a consumer of the bus:
the bus delivers at least once (a consumer would need its own record of the events it has counted),
two of the figures (carts created, lines removed) are no event at all, and the outbox rows are in the
same database, written in the transaction of what they tell, so a day's count is a query. The report
reads only the rollup: a few hundred rows for a year, whatever the number of carts.

**The figures**, per day (flows are what happened that day; a range sums its days):

- ``created``: carts created (``cart.created_at``), guest carts later merged included;
- ``abandoned``: carts the sweep marked abandoned (each mark writes one ``CartAbandoned``);
- ``recovered``: abandoned carts won back, by their recovery link or an order (``CartRecovered``, once
  per cart);
- ``converted``: carts whose checkout an order completed (``CheckoutCompleted``, once per checkout);
- ``active`` (a stock, not a flow): open carts (status active, not marked abandoned) changed within
  the abandonment window (``ABANDONED_AFTER_HOURS``), counted by the day's last run while the day ran;
  a range's is its last day's;
- ``abandonmentRate`` = abandoned / (abandoned + converted): of the carts that came to an end, the
  share left idle; ``recoveryRate`` = recovered / abandoned (recoveries per abandonment in the same
  period, so above 1 when a period wins back carts abandoned before it);
- average cart value per currency: the lines' value of the converted carts (the checkout's subtotal at
  the reserved prices) and of the abandoned carts (at the prices of the mark), before discounts,
  shipping and tax, in integer minor units rounded half up;
- most abandoned products (in how many abandoned carts, how many units) and most removed (lines the
  shopper removed: remove, quantity 0, clear, a sync dropping a line; ``cart_line_removal``);
- refusals by reason: changes refused for stock (``insufficient_stock``), limits (``limit_exceeded``)
  or purchase rules (``restricted``, ``incompatible``, ``currency_mismatch``), counted by
  ``raise_problem`` in the refusing statement (migration 0018: sequences, which a rollback keeps).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from pydantic import TypeAdapter

from cart_common.db import Database, get_database
from cart_common.errors import RangeReversed, RangeTooLong
from cart_common.models import (
    AnalyticsBucket,
    CartAnalytics,
    CartFigures,
    CartValue,
    ProductCount,
)
from cart_common.store import analytics as store
from cart_common.store._compose import Row

MAX_RANGE_DAYS = 366  # a year and a leap day: the longest range one request may ask for
DEFAULT_RANGE_DAYS = 30  # without ``from``: the 30 days that end with ``to``
TOP_PRODUCTS = 10  # most abandoned / most removed products a report lists
# Products kept per day and kind: a range's top 10 is exact unless a product is outside some day's
# top 50 while inside the range's top 10.
TOP_PER_DAY = 50
# A day is final once a run starts this long after its end: a transaction that started that day (whose
# rows carry that day's time) has committed or failed by then (statements time out in seconds).
FINAL_AFTER_MINUTES = 15.0


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _average(total: Any, carts: int) -> int | None:
    """Integer minor units, rounded half up (totals are never negative)."""
    return (2 * int(total) + carts) // (2 * carts) if carts else None


def _figures(rows: list[Row]) -> dict[str, Any]:
    """The figures of a run of buckets (as plain data): flows summed, ``active`` the latest one known."""
    abandoned, converted = sum(r["abandoned"] for r in rows), sum(r["converted"] for r in rows)
    recovered = sum(r["recovered"] for r in rows)
    known = [r["active"] for r in rows if r["active"] is not None]
    return {
        "created": sum(r["created"] for r in rows),
        "active": known[-1] if known else None,
        "abandoned": abandoned,
        "recovered": recovered,
        "converted": converted,
        "abandonment_rate": _rate(abandoned, abandoned + converted),
        "recovery_rate": _rate(recovered, abandoned),
        "refusals": {
            "stock": sum(r["refused_stock"] for r in rows),
            "limits": sum(r["refused_limits"] for r in rows),
            "rules": sum(r["refused_rules"] for r in rows),
        },
    }


def _bucket(r: Row) -> dict[str, Any]:
    """One bucket's figures (``_figures`` of one row, written out: a year by day is 366 of them)."""
    abandoned, converted = r["abandoned"], r["converted"]
    return {
        "start": r["start"],
        "end": r["last_day"],
        "days_without_data": r["no_data"],
        "created": r["created"],
        "active": r["active"],
        "abandoned": abandoned,
        "recovered": r["recovered"],
        "converted": converted,
        "abandonment_rate": _rate(abandoned, abandoned + converted),
        "recovery_rate": _rate(r["recovered"], abandoned),
        "refusals": {"stock": r["refused_stock"], "limits": r["refused_limits"], "rules": r["refused_rules"]},
    }


@functools.cache
def _series() -> TypeAdapter[list[AnalyticsBucket]]:
    # A year by day is 366 buckets: validated as one list by pydantic's core, a third of the time of
    # a model built per bucket in Python (built on first use: cold starts).
    return TypeAdapter(list[AnalyticsBucket])


def _values(rows: Iterable[Row]) -> list[CartValue]:
    by_currency: dict[str, dict[str, Any]] = {}
    for row in rows:
        kind = by_currency.setdefault(row["currency"], {})
        kind[row["kind"]] = (row["carts"], row["total"])
    return [
        CartValue(
            currency=currency,
            converted_carts=kinds.get("converted", (0, 0))[0],
            converted_average=_average(kinds.get("converted", (0, 0))[1], kinds.get("converted", (0, 0))[0]),
            abandoned_carts=kinds.get("abandoned", (0, 0))[0],
            abandoned_average=_average(kinds.get("abandoned", (0, 0))[1], kinds.get("abandoned", (0, 0))[0]),
        )
        for currency, kinds in sorted(by_currency.items())
    ]


def _products(rows: Iterable[Row], kind: str) -> list[ProductCount]:
    return [
        ProductCount(product_id=r["product_id"], name=r["name"], count=r["times"], units=r["units"])
        for r in rows
        if r["kind"] == kind
    ]


def report(
    start: date | None, end: date | None, bucket: str = "day", *, database: Database | None = None
) -> CartAnalytics:
    """``GET /admin/analytics/carts``: the figures of ``start``..``end`` (UTC days, inclusive; without
    ``end`` today, without ``start`` the 30 days that end with ``end``) in total and by ``bucket``."""
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise RangeReversed(**{"from": start.isoformat(), "to": end.isoformat()})
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise RangeTooLong(maxDays=MAX_RANGE_DAYS, days=days)

    def read(conn: psycopg.Connection) -> tuple[list[Row], list[Row], list[Row], datetime | None]:
        return store.report(conn, start=start, end=end, bucket=bucket, top=TOP_PRODUCTS)

    buckets, values, products, as_of = (database or get_database()).run(read)
    return CartAnalytics(
        start=start,
        end=end,
        bucket=bucket,  # type: ignore[arg-type]  # the route's Literal
        as_of=as_of,
        totals=CartFigures.model_validate(_figures(buckets)),
        average_cart_value=_values(values),
        most_abandoned=_products(products, "abandoned"),
        most_removed=_products(products, "removed"),
        series=_series().validate_python([_bucket(r) for r in buckets]),
    )


@dataclass
class Rollup:
    """The sweep's analytics step: each ``batch`` computes one day, oldest first, until today's is
    done (``left`` 0). The days are read on the first batch of a run."""

    horizon: int  # days back the sources reach (the outbox's EVENT_RETENTION_DAYS)
    active_hours: float  # the abandonment window: what counts as an open cart still in use
    today: date | None = None
    pending: list[date] | None = field(default=None)

    def batch(self, conn: psycopg.Connection) -> Row:
        if self.pending is None:
            self.today, self.pending = store.due_days(conn, horizon=self.horizon)
        if not self.pending:
            return {"day": None, "written": False, "final": False, "left": 0}
        day = self.pending[0]
        written = roll_up_day(conn, day, live=day == self.today, active_hours=self.active_hours)
        self.pending.pop(0)  # only once computed: a retried batch computes the day again
        return {"day": day, "written": written is not None, "final": bool(written and written["final"]),
                "left": len(self.pending)}  # fmt: skip


def roll_up_day(conn: psycopg.Connection, day: date, *, live: bool, active_hours: float) -> Row | None:
    """One day of the rollup (the sweep's step, the bench's backfill); the day's row as written,
    None when the day was final already."""
    return store.roll_up_day(
        conn, day, live=live, active_hours=active_hours, grace_minutes=FINAL_AFTER_MINUTES, top=TOP_PER_DAY
    )
