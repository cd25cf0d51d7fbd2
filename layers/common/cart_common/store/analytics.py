"""Cart analytics (migration 0018): the daily rollup the sweep maintains, and the admin report that
reads only the rollup (cart_common/analytics.py says what each figure means).

A day of the rollup is one round trip, one transaction: a lock that queues overlapping runs (each
recomputes the day from its sources, so the later one simply writes it again), the day's row, then its
values and products replaced, each gated on the day's row having been written by this transaction (a
final day is never written again). The sources are read by index, one day's range at a time:
``cart_created_at``, ``cart_event_type_created``, ``cart_line_removal_at`` and the partial index of
open carts by activity (``cart_last_activity``); tests/integration/test_analytics_plans.py holds them to it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg

from cart_common.db import Statement, pipeline
from cart_common.store._compose import Row, plain

# Overlapping runs (a retry beside a late run) queue up here rather than interleave a day's
# delete-and-insert; a transaction-level lock, as every lock through a transaction-pooling proxy.
_LOCK = "select pg_advisory_xact_lock(hashtextextended('cart-analytics-rollup', 0))"

# The days a run computes: from the day after the last final one, but no further back than
# ``horizon`` days (the outbox keeps published events that long), to today (UTC).
_DUE_DAYS = """
with today_ as (select (now() at time zone 'UTC')::date as today)
select today, array(
    select d::date from generate_series(
        greatest((select max(a.day) + 1 from analytics_day a where a.final), today - %(horizon)s::int),
        today, interval '1 day') d
) as days
from today_
"""

_GATE = "exists (select 1 from analytics_day a where a.day = %(day)s::date and a.computed_at = now())"
_DELETE_VALUES = f"delete from analytics_day_value v where v.day = %(day)s::date and {_GATE}"
_DELETE_PRODUCTS = f"delete from analytics_day_product p where p.day = %(day)s::date and {_GATE}"
_MONTH = "date_trunc('month', %(day)s::date)::date"
_DELETE_MONTH = f"delete from analytics_month_product m where m.month = {_MONTH} and {_GATE}"
_SUM_MONTH = f"""
insert into analytics_month_product (kind, month, product_id, times, units)
select d.kind, {_MONTH}, d.product_id, sum(d.times), sum(d.units)
from analytics_day_product d
where d.kind = any(array['abandoned', 'removed'])
  and d.day >= {_MONTH} and d.day < ({_MONTH} + interval '1 month')::date and {_GATE}
group by d.kind, d.product_id
"""
_READY_SLOTS = "select analytics_ready_refusal_slots(%(day)s::date) as readied"


def due_days(conn: psycopg.Connection, *, horizon: int) -> tuple[date, list[date]]:
    """Today (UTC, the database's clock) and the days a run should compute, oldest first."""
    (row,) = pipeline(conn, [plain(_DUE_DAYS, horizon=horizon)], reads_only=True)[0]
    return row["today"], list(row["days"])


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``day`` as the half-open range of instants [lo, hi) in UTC."""
    lo = datetime.combine(day, time.min, tzinfo=UTC)
    return lo, lo + timedelta(days=1)


def roll_up_day(
    conn: psycopg.Connection, day: date, *, live: bool, active_hours: float, grace_minutes: float, top: int
) -> Row | None:
    """Compute ``day`` (``live``: today, so its active carts are counted and the refusal counters of
    the coming days readied); the day's row as written, or None when it was final already."""
    lo, hi = day_bounds(day)
    params: dict[str, Any] = {
        "day": day, "lo": lo, "hi": hi, "live": live, "active_hours": active_hours,
        "grace_minutes": grace_minutes, "top": top,
    }  # fmt: skip
    statements: list[Statement] = [
        plain(_LOCK),
        plain("analytics_day.sql", **params),
        plain(_DELETE_VALUES, **params),
        plain("analytics_day_values.sql", **params),
        plain(_DELETE_PRODUCTS, **params),
        plain("analytics_day_products.sql", **params),
        plain(_DELETE_MONTH, **params),
        plain(_SUM_MONTH, **params),
        *([plain(_READY_SLOTS, **params)] if live else []),
    ]
    written = pipeline(conn, statements)[1]
    return written[0] if written else None


# Removal rows are needed until their day is final; they go with the outbox's published events.
_PURGE_REMOVALS = """
with due as materialized (
    select ctid from cart_line_removal
    where removed_at < now() - %(days)s::float8 * interval '1 day'
    order by removed_at limit %(batch)s
    for update skip locked
),
gone as (delete from cart_line_removal r where r.ctid = any(array(select ctid from due)) returning 1)
select count(*) as purged from gone
"""


def purge_removals(conn: psycopg.Connection, *, days: float, batch: int) -> Row:
    return pipeline(conn, [plain(_PURGE_REMOVALS, days=days, batch=batch)])[0][0]


_VALUES = """
select v.kind, v.currency, sum(v.carts)::bigint as carts, sum(v.total) as total
from analytics_day_value v
where v.kind = any(array['abandoned', 'converted']) and v.day between %(start)s::date and %(end)s::date
group by v.kind, v.currency
order by v.currency, v.kind
"""

# The range's whole months from the monthly sums, the days before the first and after the last whole
# month from the daily rows; the names looked up for the ranked few only (by primary key).
_PRODUCTS = """
with bounds as (
    select case when extract(day from %(start)s::date) = 1 then %(start)s::date
                else (date_trunc('month', %(start)s::date) + interval '1 month')::date end as whole_from,
           date_trunc('month', %(end)s::date + 1)::date as whole_until
),
counted as (
    select m.kind, m.product_id, m.times, m.units
    from bounds b join analytics_month_product m
      on m.kind = any(array['abandoned', 'removed']) and m.month >= b.whole_from and m.month < b.whole_until
    union all
    select d.kind, d.product_id, d.times, d.units
    from bounds b join analytics_day_product d
      on d.kind = any(array['abandoned', 'removed']) and d.day >= %(start)s::date
     and d.day < least(b.whole_from, %(end)s::date + 1)
    union all
    select d.kind, d.product_id, d.times, d.units
    from bounds b join analytics_day_product d
      on d.kind = any(array['abandoned', 'removed']) and d.day >= greatest(b.whole_until, b.whole_from)
     and d.day <= %(end)s::date
)
select t.kind, t.product_id, t.times, t.units, (select p.name from product p where p.id = t.product_id) as name
from (
    select c.kind, c.product_id, sum(c.times)::bigint as times, sum(c.units)::bigint as units,
           row_number() over (partition by c.kind order by sum(c.times) desc, sum(c.units) desc, c.product_id) as rank
    from counted c
    group by c.kind, c.product_id
) t
where t.rank <= %(top)s::int
order by t.kind, t.rank
"""

# The latest run's time: today's row is written by every run.
_AS_OF = "select a.computed_at from analytics_day a order by a.day desc limit 1"


def report(
    conn: psycopg.Connection, *, start: date, end: date, bucket: str, top: int
) -> tuple[list[Row], list[Row], list[Row], datetime | None]:
    """The buckets, the values per kind and currency, the top products per kind, and when the
    rollup last ran: one round trip, reads only."""
    params = {"start": start, "end": end, "bucket": bucket, "top": top}
    buckets, values, products, as_of = pipeline(
        conn,
        [plain("analytics_report.sql", **params), plain(_VALUES, **params), plain(_PRODUCTS, **params), plain(_AS_OF)],
        reads_only=True,
    )
    return buckets, values, products, as_of[0]["computed_at"] if as_of else None
