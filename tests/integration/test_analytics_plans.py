"""Cart analytics on a database of its own, populated like a shop a year and more in: the plans of
every analytics statement (the report reads none of the big tables; the rollup reads them only by
index, a day's range at a time), the refusal counters' ring of days, and which days a sweep
computes. Plans are asked of the planner as it is (sequential scans allowed): on this much data an
index is chosen because it is cheaper, which is the property that keeps a request and a day's rollup
from growing with the tables."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql as pgsql

import migrate
from cart_common import analytics
from cart_common.store import analytics as store
from cart_common.store._compose import composed
from tests.conftest import _server_url, _with_dbname, one

BIG_TABLES = {"cart", "cart_item", "cart_event", "cart_line_removal"}
ROLLUP_TABLES = {"analytics_day", "analytics_day_value", "analytics_day_product", "analytics_month_product"}
CARTS, EVENTS, REMOVALS, HISTORY_DAYS = 200_000, 60_000, 60_000, 400


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """A fresh database: migrated, a 500-product catalog, 200,000 carts (lines in a quarter of them)
    created over 400 days, 60,000 outbox events and 60,000 removed lines over the same days, the
    rollup computed for every day, then analysed. Dropped afterwards."""
    server = _server_url()
    name = f"cart_analytics_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(pgsql.SQL("create database {}").format(pgsql.Identifier(name)))
    url = _with_dbname(server, name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            migrate.migrate(conn)
            conn.execute("set statement_timeout = 0")
            _populate(conn)
            today = datetime.now(UTC).date()
            for offset in range(HISTORY_DAYS, -1, -1):
                day = today - timedelta(days=offset)
                analytics.roll_up_day(conn, day, live=offset == 0, active_hours=24)
            conn.execute("vacuum analyze")
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(pgsql.SQL("drop database if exists {}").format(pgsql.Identifier(name)))


def _populate(conn: psycopg.Connection[Any]) -> None:
    # No parameters: psycopg sends each statement as written, so % is SQL's modulo.
    conn.execute(
        "insert into product (name, slug, price, currency, stock)"
        " select 'Product ' || g, 'product-' || g, 100 + g, 'USD', 1000 from generate_series(1, 500) g"
    )
    conn.execute(f"""
        insert into cart (session_id, currency, status, created_at, updated_at, last_activity_at, expires_at)
        select md5(g::text || random()::text) || md5(g::text), 'USD', 'active', t, t,
               t + random() * interval '2 hours', now() + interval '30 days'
        from (select g, now() - random() * interval '{HISTORY_DAYS} days' as t from generate_series(1, {CARTS}) g) x
    """)
    conn.execute("""
        with p as (select array_agg(id order by id) as ids, array_agg(price order by id) as prices from product)
        insert into cart_item (cart_id, product_id, quantity, price_at_add)
        select c.id, p.ids[1 + abs(hashtext(c.id::text)) % 500], 1 + abs(hashtext(c.id::text)) % 3,
               p.prices[1 + abs(hashtext(c.id::text)) % 500]
        from (select id from cart tablesample bernoulli (25)) c, p
    """)
    conn.execute(f"""
        with p as (select array_agg(id order by id) as ids from product)
        insert into cart_event (detail_type, detail, created_at, published_at)
        select (array['CartAbandoned', 'CartRecovered', 'CheckoutCompleted', 'CheckoutStarted'])[1 + g % 4],
               jsonb_build_object(
                   'cartId', gen_random_uuid(), 'currency', 'USD', 'value', 1000 + g % 5000,
                   'subtotal', 2000 + g % 7000,
                   'lines', jsonb_build_array(jsonb_build_object('productId', p.ids[1 + g % 500], 'quantity', 1 + g % 3))),
               t, t
        from (select g, now() - random() * interval '{HISTORY_DAYS} days' as t from generate_series(1, {EVENTS}) g) x, p
    """)
    conn.execute(f"""
        with p as (select array_agg(id order by id) as ids from product)
        insert into cart_line_removal (removed_at, product_id, quantity)
        select now() - random() * interval '{HISTORY_DAYS} days', p.ids[1 + (g * 7) % 500], 1 + g % 4
        from generate_series(1, {REMOVALS}) g, p
    """)


@pytest.fixture
def conn(shop: str) -> Iterator[Any]:
    with psycopg.connect(
        shop, autocommit=True, row_factory=psycopg.rows.dict_row, cursor_factory=psycopg.ClientCursor
    ) as connection:
        yield connection


def nodes(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(node type, relation) of every node of a JSON plan, init and sub plans included."""
    yield plan["Node Type"], plan.get("Relation Name", "")
    for child in plan.get("Plans", []):
        yield from nodes(child)


def plan_of(conn: Any, source: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    (row,) = conn.execute(pgsql.SQL("explain (format json) ") + composed(source), params).fetchall()
    document = row["QUERY PLAN"]
    document = json.loads(document) if isinstance(document, str) else document
    return list(nodes(document[0]["Plan"]))


def seq_scanned(plan: list[tuple[str, str]]) -> set[str]:
    return {relation for node, relation in plan if node == "Seq Scan"}


def rollup_params(day: date, *, live: bool) -> dict[str, Any]:
    lo, hi = store.day_bounds(day)
    return {"day": day, "lo": lo, "hi": hi, "live": live, "active_hours": 24, "grace_minutes": 15, "top": 50}


def test_the_shop_is_as_large_as_the_plans_assume(conn: Any) -> None:
    counts = one(conn.execute(
        "select (select count(*) from cart) as carts, (select count(*) from cart_item) as lines,"
        " (select count(*) from cart_event) as events, (select count(*) from cart_line_removal) as removals,"
        " (select count(*) from analytics_day where final) as final_days"))  # fmt: skip
    assert counts["carts"] == CARTS and counts["lines"] > CARTS // 5
    assert (counts["events"], counts["removals"]) == (EVENTS, REMOVALS)
    assert counts["final_days"] == HISTORY_DAYS  # every day but today


def test_the_guard_sees_a_sequential_scan(conn: Any) -> None:
    """A statement no index serves is reported (so the tests below could fail)."""
    assert seq_scanned(plan_of(conn, "select count(*) from cart where currency = %(c)s", {"c": "USD"})) == {"cart"}


@pytest.mark.parametrize("live", [False, True])
@pytest.mark.parametrize(
    "source",
    ["analytics_day.sql", "analytics_day_values.sql", "analytics_day_products.sql",
     store._DELETE_VALUES, store._DELETE_PRODUCTS, store._DELETE_MONTH, store._SUM_MONTH],
)  # fmt: skip
def test_a_days_rollup_reads_the_big_tables_only_by_index(conn: Any, source: str, live: bool) -> None:
    today = datetime.now(UTC).date()
    day = today if live else today - timedelta(days=37)
    plan = plan_of(conn, source, rollup_params(day, live=live))
    assert seq_scanned(plan) & BIG_TABLES == set(), plan
    read = {relation for _, relation in plan if relation}
    if source == "analytics_day.sql":  # the sources it counts, each by an index of its own
        assert {"cart", "cart_event"} <= read
        assert ("Index Only Scan", "cart") in plan or ("Bitmap Heap Scan", "cart") in plan, plan


def test_the_sweeps_housekeeping_of_the_rollup_reads_by_index(conn: Any) -> None:
    for source, params in ((store._DUE_DAYS, {"horizon": 7}), (store._PURGE_REMOVALS, {"days": 7, "batch": 1000})):
        plan = plan_of(conn, source, params)
        assert seq_scanned(plan) & (BIG_TABLES | ROLLUP_TABLES) == set(), (source, plan)


@pytest.mark.parametrize("days", [30, analytics.MAX_RANGE_DAYS])
def test_the_report_reads_the_rollup_and_never_a_cart_an_event_or_a_line(conn: Any, days: int) -> None:
    end = datetime.now(UTC).date()
    params = {"start": end - timedelta(days=days - 1), "end": end, "bucket": "week", "top": 10}
    for source in ("analytics_report.sql", store._VALUES, store._PRODUCTS, store._AS_OF):
        plan = plan_of(conn, source, params)
        read = {relation for _, relation in plan if relation}
        assert read <= ROLLUP_TABLES | {"product"}, (source, plan)
        assert "product" not in seq_scanned(plan), plan  # names of the top ten, by primary key
        if days == 30:  # a month of a year's rollup: by its primary key too
            assert seq_scanned(plan) == set(), (source, plan)


def test_the_report_answers_from_the_populated_rollup(conn: Any) -> None:
    end = datetime.now(UTC).date()
    start = end - timedelta(days=analytics.MAX_RANGE_DAYS - 1)
    buckets, values, products, as_of = store.report(conn, start=start, end=end, bucket="month", top=10)
    expected = one(conn.execute(
        "select count(*) filter (where detail_type = 'CartAbandoned') as abandoned,"
        " count(*) filter (where detail_type = 'CheckoutCompleted') as converted from cart_event"
        " where created_at >= %s", (store.day_bounds(start)[0],)))  # fmt: skip
    assert sum(b["abandoned"] for b in buckets) == expected["abandoned"]
    assert sum(b["converted"] for b in buckets) == expected["converted"]
    assert {(v["kind"], v["currency"]) for v in values} == {("abandoned", "USD"), ("converted", "USD")}
    assert len([p for p in products if p["kind"] == "removed"]) == 10 and as_of is not None


# --- the refusal counters' ring of days -------------------------------------------------------------


def refuse(conn: Any, code: str) -> None:
    """A statement refusing with ``code``, rolled back as a refused change is."""
    with pytest.raises(psycopg.errors.RaiseException), conn.transaction():
        conn.execute("select raise_problem(%s, '{}'::jsonb)", (code,))


def counted(conn: Any, day: date) -> dict[str, int] | None:
    row = conn.execute("select * from analytics_refusals(%s)", (day,)).fetchone()
    return dict(row) if row else None


def test_a_refusal_is_counted_for_its_reason_and_day_though_its_transaction_rolled_back(
    conn: Any,
) -> None:
    today = datetime.now(UTC).date()
    before = counted(conn, today)
    assert before is not None  # the migration readied today and the next seven days
    for code in (
        "insufficient_stock",
        "limit_exceeded",
        "limit_exceeded",
        "restricted",
        "incompatible",
        "currency_mismatch",
        "version_conflict",
        "not_modified",
        "item_not_found",
        "rate_limited",
    ):
        refuse(conn, code)  # fmt: skip
    after = counted(conn, today)
    assert after is not None
    assert {k: after[k] - before[k] for k in after} == {"stock": 1, "limits": 2, "rules": 3}


def test_a_slot_is_readied_for_a_coming_day_only_once_the_day_it_counted_is_final(
    conn: Any,
) -> None:
    today = datetime.now(UTC).date()
    # eight days on, a day's slot comes round again: it still counts today, which is not final
    coming = today + timedelta(days=8)
    assert conn.execute("select analytics_slot(%s) = analytics_slot(%s) as same", (coming, today)).fetchone()["same"]
    assert one(conn.execute("select analytics_ready_refusal_slots(%s) as n", (coming - timedelta(days=1),)))["n"] == 0
    assert counted(conn, today) is not None and counted(conn, coming) is None
    # once today is final (as the first run after it will make it), the slot is emptied and given to it
    refuse(conn, "insufficient_stock")
    conn.execute("update analytics_day set final = true where day = %s", (today,))
    try:
        readied = one(conn.execute("select analytics_ready_refusal_slots(%s) as n", (coming - timedelta(days=1),)))
        assert readied["n"] == 1  # and not the next one: it still counts tomorrow
        assert counted(conn, coming) == {"stock": 0, "limits": 0, "rules": 0}
        assert counted(conn, today) is None  # its slot counts another day now: not read as today's
    finally:
        conn.execute("update analytics_day set final = false where day = %s", (today,))
        conn.execute("update analytics_refusal_slot set day = %s where day = %s", (today, coming))


def test_a_days_counters_are_not_read_once_its_slot_may_have_come_round(conn: Any) -> None:
    long_ago = datetime.now(UTC).date() - timedelta(days=9)
    slot = one(conn.execute("select analytics_slot(%s) as s", (long_ago,)))["s"]
    kept = one(conn.execute("select day from analytics_refusal_slot where slot = %s", (slot,)))["day"]
    conn.execute("update analytics_refusal_slot set day = %s where slot = %s", (long_ago, slot))
    try:
        assert counted(conn, long_ago) is None
    finally:
        conn.execute("update analytics_refusal_slot set day = %s where slot = %s", (kept, slot))


# --- the days a sweep computes ----------------------------------------------------------------------


def test_a_sweep_computes_from_the_day_after_the_last_final_one_back_to_the_horizon(
    conn: Any,
) -> None:
    today, days = store.due_days(conn, horizon=7)
    assert (today, days) == (datetime.now(UTC).date(), [today])  # every earlier day is final
    conn.execute("update analytics_day set final = false where day >= %s", (today - timedelta(days=2),))
    assert store.due_days(conn, horizon=7)[1] == [today - timedelta(days=2), today - timedelta(days=1), today]
    conn.execute("update analytics_day set final = false where day >= %s", (today - timedelta(days=30),))
    assert store.due_days(conn, horizon=7)[1] == [today - timedelta(days=7 - i) for i in range(8)]
    rollup = analytics.Rollup(horizon=7, active_hours=24)
    rows = [rollup.batch(conn) for _ in range(8)]
    assert [r["day"] for r in rows] == [today - timedelta(days=7 - i) for i in range(8)]
    assert [r["final"] for r in rows] == [True] * 7 + [False] and rows[-1]["left"] == 0
    assert store.due_days(conn, horizon=7)[1] == [today]  # days beyond the horizon are left as they are
    beyond = one(conn.execute("select count(*) as n from analytics_day where not final and day < %s", (today,)))
    assert beyond["n"] == 30 - 7
    conn.execute("update analytics_day set final = true where day < %s", (today,))
