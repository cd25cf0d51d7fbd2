"""Cart analytics for the merchant (GET /admin/analytics/carts and the sweep's daily rollup), on real
PostgreSQL: every figure on a data set whose answers are worked out here from the rows inserted, the
range's edges, who may ask, bad ranges, and the rollup's idempotency. The sources of the figures that
the API itself writes (lines removed, refusals, marks, orders) are made through the API in the tests
of today's figures; past days are built with test-side SQL at chosen instants, on days no other test
touches (2003), and removed again afterwards."""

from __future__ import annotations

import functools
import random
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from cart_common import analytics
from cart_common.db import Database
from local import stack
from tests.conftest import Reply, Shopper, User, http_event, one, routes
from tests.integration.test_cart_api import assert_problem

ROUTE = "/admin/analytics/carts"
MONDAY = date(2003, 3, 3)  # the constructed data's first day (a Monday: weeks start there)
DAYS = 70  # the constructed data spans MONDAY .. MONDAY + 69: ten ISO weeks, April 2003 whole


def analytics_as(bearer: str | None, **query: Any) -> Reply:
    """GET /admin/analytics/carts through its handler, with a query string as API Gateway sends it."""
    route = routes()[("GET", ROUTE)]
    event = http_event("GET", ROUTE, headers={"authorization": f"Bearer {bearer}"} if bearer else {})
    if query:
        event["queryStringParameters"] = {name: str(value) for name, value in query.items()}
        event["rawQueryString"] = urlencode(event["queryStringParameters"])
    return Reply(stack.load_function(route)(event, stack.LambdaContext(route.function, 10)))


@pytest.fixture
def report(admin: User) -> Callable[..., dict[str, Any]]:
    """The report as the admin sees it."""

    def fetch(**query: Any) -> dict[str, Any]:
        reply = analytics_as(admin.access_token, **query)
        assert reply.status == 200, reply
        assert reply.content_type.startswith("application/json")
        return reply.json

    return fetch


def utc(day: date, hour: int = 12, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=UTC)


def roll_up(days: list[date], *, live: bool = False) -> list[dict[str, Any] | None]:
    """Each day of the rollup, as the sweep computes one, as the application role through the proxy."""
    database = Database()
    try:
        return [database.run(functools.partial(analytics.roll_up_day, day=d, live=live, active_hours=24)) for d in days]
    finally:
        database.close()


# --- a constructed history -------------------------------------------------------------------


@dataclass
class History:
    """What was inserted (each fact at its instant), from which every expected answer is computed."""

    products: list[str]
    names: dict[str, str]
    days: list[date]
    carts: list[tuple[str, datetime]] = field(default_factory=list)  # id, created_at
    abandoned: list[tuple[datetime, str, int, list[tuple[str, int]]]] = field(default_factory=list)
    recovered: list[datetime] = field(default_factory=list)
    converted: list[tuple[datetime, str, int]] = field(default_factory=list)  # at, currency, subtotal
    removed: list[tuple[datetime, str, int]] = field(default_factory=list)  # at, product, quantity
    event_ids: list[str] = field(default_factory=list)

    # the answers, worked out from the facts above in plain Python

    @staticmethod
    def within(at: datetime, start: date, end: date) -> bool:
        return start <= at.astimezone(UTC).date() <= end

    def counts(self, start: date, end: date) -> dict[str, Any]:
        created = sum(self.within(at, start, end) for _, at in self.carts)
        abandoned = sum(self.within(at, start, end) for at, *_ in self.abandoned)
        recovered = sum(self.within(at, start, end) for at in self.recovered)
        converted = sum(self.within(at, start, end) for at, *_ in self.converted)
        return {
            "created": created,
            "active": None,  # no rollup ran while these days ran
            "abandoned": abandoned,
            "recovered": recovered,
            "converted": converted,
            "abandonmentRate": round(abandoned / (abandoned + converted), 4) if abandoned + converted else None,
            "recoveryRate": round(recovered / abandoned, 4) if abandoned else None,
            "refusals": {"stock": 0, "limits": 0, "rules": 0},  # past days' counters were never set up
        }

    def values(self, start: date, end: date) -> list[dict[str, Any]]:
        sums: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"converted": [], "abandoned": []})
        for at, currency, subtotal in self.converted:
            if self.within(at, start, end):
                sums[currency]["converted"].append(subtotal)
        for at, currency, value, _ in self.abandoned:
            if self.within(at, start, end):
                sums[currency]["abandoned"].append(value)

        def average(values: list[int]) -> int | None:  # half up, from the exact quotient
            return int((Decimal(sum(values)) / len(values) + Decimal("0.5")) // 1) if values else None

        return [
            {"currency": currency, "convertedCarts": len(kinds["converted"]),
             "convertedAverage": average(kinds["converted"]), "abandonedCarts": len(kinds["abandoned"]),
             "abandonedAverage": average(kinds["abandoned"])}
            for currency, kinds in sorted(sums.items())
        ]  # fmt: skip

    def top(self, counts: Counter[str], units: Counter[str]) -> list[dict[str, Any]]:
        ranked = sorted(counts, key=lambda p: (-counts[p], -units[p], p))[: analytics.TOP_PRODUCTS]
        return [{"productId": p, "name": self.names.get(p), "count": counts[p], "units": units[p]} for p in ranked]

    def most_abandoned(self, start: date, end: date) -> list[dict[str, Any]]:
        carts, units = Counter[str](), Counter[str]()
        for at, _, _, lines in self.abandoned:
            if self.within(at, start, end):
                carts.update({product for product, _ in lines})
                for product, quantity in lines:
                    units[product] += quantity
        return self.top(carts, units)

    def most_removed(self, start: date, end: date) -> list[dict[str, Any]]:
        lines, units = Counter[str](), Counter[str]()
        for at, product, quantity in self.removed:
            if self.within(at, start, end):
                lines[product] += 1
                units[product] += quantity
        return self.top(lines, units)


def _instant(rng: random.Random, day: date) -> datetime:
    # a tenth of the facts sit on a day's very first or very last microsecond: the range's edges
    edge = rng.random()
    if edge < 0.05:
        return utc(day, 0, 0, 0, 0)
    if edge < 0.1:
        return utc(day, 23, 59, 59, 999_999)
    return utc(day, rng.randrange(24), rng.randrange(60), rng.randrange(60), rng.randrange(1_000_000))


def insert_history(sql: psycopg.Connection[DictRow], products: list[str], days: list[date], seed: int = 23) -> History:
    """Carts, marks, recoveries, orders and removals on ``days`` at random instants (seeded), in two
    currencies, over ``products``, inserted as the API and the sweep write them (test-side SQL)."""
    rng = random.Random(seed)
    names = {row["id"]: row["name"] for row in sql.execute(
        "select id::text, name from product where id = any(%s::uuid[])", (products,))}  # fmt: skip
    made = History(products=products, names=names, days=days)
    for day in days:
        for _ in range(rng.randrange(0, 6)):
            made.carts.append((str(uuid.uuid4()), _instant(rng, day)))
        for _ in range(rng.randrange(0, 4)):
            lines = [(p, rng.randrange(1, 5)) for p in rng.sample(products, rng.randrange(1, 4))]
            made.abandoned.append((_instant(rng, day), rng.choice(["USD", "EUR"]), rng.randrange(1, 50_000), lines))
        for _ in range(rng.randrange(0, 3)):
            made.recovered.append(_instant(rng, day))
        for _ in range(rng.randrange(0, 4)):
            made.converted.append((_instant(rng, day), rng.choice(["USD", "EUR"]), rng.randrange(1, 80_000)))
        for _ in range(rng.randrange(0, 5)):
            made.removed.append((_instant(rng, day), rng.choice(products), rng.randrange(1, 6)))
    with sql.transaction():
        for cart_id, at in made.carts:
            sql.execute(
                "insert into cart (id, session_id, currency, created_at, updated_at, last_activity_at, expires_at,"
                " status, merged_at, merged_into)"
                " values (%s, %s, 'USD', %s, %s, %s, now() + interval '1 day', 'merged', %s, null)",
                (cart_id, uuid.uuid4().hex * 2, at, at, at, at),
            )  # merged: out of the one-active-cart rule and of every other test's active carts

        def event(detail_type: str, at: datetime, detail: dict[str, Any]) -> None:
            row = one(sql.execute(
                "insert into cart_event (detail_type, detail, created_at, published_at) values (%s, %s, %s, %s)"
                " returning id::text", (detail_type, Jsonb(detail), at, at)))  # fmt: skip
            made.event_ids.append(row["id"])

        for at, currency, value, lines in made.abandoned:
            event("CartAbandoned", at, {"cartId": str(uuid.uuid4()), "currency": currency, "value": value,
                                        "lines": [{"productId": p, "variantId": None, "quantity": q} for p, q in lines]})  # fmt: skip
        for at in made.recovered:
            event("CartRecovered", at, {"cartId": str(uuid.uuid4()), "currency": "USD", "abandonedValue": 1})
        for at, currency, subtotal in made.converted:
            event("CheckoutCompleted", at, {"cartId": str(uuid.uuid4()), "currency": currency, "subtotal": subtotal})
        # other events on those days count as nothing
        event("CheckoutStarted", utc(days[0]), {"cartId": str(uuid.uuid4()), "currency": "USD", "lines": []})
        event("GuestCartMerged", utc(days[-1]), {"cartId": str(uuid.uuid4())})
        for at, product, quantity in made.removed:
            sql.execute(
                "insert into cart_line_removal (removed_at, product_id, quantity) values (%s, %s, %s)",
                (at, product, quantity),
            )
    return made


def remove_history(sql: psycopg.Connection[DictRow], made: History) -> None:
    """What ``insert_history`` inserted, and the rollup's rows of its days."""
    first, last = made.days[0], made.days[-1]
    sql.execute("delete from cart where id = any(%s::uuid[])", ([c for c, _ in made.carts],))
    sql.execute("delete from cart_event where id = any(%s::uuid[])", (made.event_ids,))
    sql.execute("delete from cart_line_removal where product_id = any(%s::uuid[])", (made.products,))
    for table in ("analytics_day", "analytics_day_value", "analytics_day_product"):
        sql.execute(f"delete from {table} where day between %s and %s", (first, last))
    sql.execute("delete from analytics_month_product where month between %s and %s", (first.replace(day=1), last))


@pytest.fixture
def history(sql: psycopg.Connection[DictRow], make_product) -> Iterator[History]:
    """Seventy days of history (``insert_history``) over fifteen products (one deleted since), removed
    afterwards."""
    products = [make_product(price=100 + i)["id"] for i in range(14)] + [str(uuid.uuid4())]  # the last: gone
    made = insert_history(sql, products, [MONDAY + timedelta(days=i) for i in range(DAYS)])
    try:
        yield made
    finally:
        remove_history(sql, made)


def figures(body: dict[str, Any]) -> dict[str, Any]:
    keys = ("created", "active", "abandoned", "recovered", "converted", "abandonmentRate", "recoveryRate", "refusals")
    return {key: body[key] for key in keys}


def test_every_figure_of_a_constructed_history_is_what_its_rows_say(history: History, report) -> None:
    # Given seventy days of history, rolled up (each day as the sweep computes it)
    days = [MONDAY + timedelta(days=i) for i in range(DAYS)]
    written = roll_up(days)
    assert all(row is not None and row["final"] for row in written)  # past days: final at once
    # When the admin asks for the whole range, a day at a time
    start, end = days[0], days[-1]
    body = report(**{"from": start, "to": end})
    # Then the totals, the values and the products are the history's
    assert (body["from"], body["to"], body["bucket"]) == (start.isoformat(), end.isoformat(), "day")
    assert figures(body["totals"]) == history.counts(start, end)
    assert body["averageCartValue"] == history.values(start, end)
    assert body["mostAbandoned"] == history.most_abandoned(start, end)
    assert body["mostRemoved"] == history.most_removed(start, end)  # a deleted product: no name
    # And each day of the series is that day's
    assert [b["start"] for b in body["series"]] == [d.isoformat() for d in days]
    for bucket, day in zip(body["series"], days, strict=True):
        assert bucket["end"] == day.isoformat() and bucket["daysWithoutData"] == 0
        assert figures(bucket) == history.counts(day, day), day
    assert body["asOf"] is not None


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2003, 3, 8), date(2003, 3, 14)),  # a week within a month
        (date(2003, 3, 15), date(2003, 4, 10)),  # across a month's end: no whole month
        (date(2003, 4, 1), date(2003, 4, 30)),  # one whole month (its products from the monthly sums)
        (date(2003, 3, 31), date(2003, 5, 1)),  # a whole month and a day either side
        (date(2003, 3, 20), date(2003, 3, 20)),  # one day: from = to
    ],
)
def test_a_range_includes_its_first_and_last_day_whole_and_nothing_beside_them(
    history: History, report, first: date, last: date
) -> None:
    roll_up([MONDAY + timedelta(days=i) for i in range(DAYS)])
    # the facts on the first and last microsecond of a day belong to that day (the data has some)
    edges = {at.time() for _, at in history.carts} & {datetime.min.time(), utc(MONDAY, 23, 59, 59, 999_999).time()}
    assert len(edges) == 2, "the constructed data has facts on both edges of a day"
    body = report(**{"from": first, "to": last})
    assert figures(body["totals"]) == history.counts(first, last)
    assert body["averageCartValue"] == history.values(first, last)
    assert body["mostAbandoned"] == history.most_abandoned(first, last)
    assert body["mostRemoved"] == history.most_removed(first, last)
    assert len(body["series"]) == (last - first).days + 1


@pytest.mark.parametrize("bucket", ["week", "month"])
def test_weeks_and_months_sum_their_days_within_the_range(history: History, report, bucket: str) -> None:
    days = [MONDAY + timedelta(days=i) for i in range(DAYS)]
    roll_up(days)
    start, end = MONDAY + timedelta(days=2), MONDAY + timedelta(days=DAYS - 1)  # a Wednesday to the end
    body = report(**{"from": start, "to": end, "bucket": bucket})
    groups: dict[date, list[date]] = defaultdict(list)
    for day in (start + timedelta(days=i) for i in range((end - start).days + 1)):
        first = day - timedelta(days=day.weekday()) if bucket == "week" else day.replace(day=1)
        groups[max(first, start)].append(day)
    assert [b["start"] for b in body["series"]] == [first.isoformat() for first in sorted(groups)]
    for each in body["series"]:
        members = groups[date.fromisoformat(each["start"])]
        assert each["end"] == members[-1].isoformat()
        assert figures(each) == history.counts(members[0], members[-1])
    assert figures(body["totals"]) == history.counts(start, end)


def test_days_no_rollup_computed_count_as_nothing_and_say_so(history: History, report) -> None:
    days = [MONDAY + timedelta(days=i) for i in range(DAYS)]
    roll_up(days[:3])  # the rest never rolled up
    body = report(**{"from": days[0], "to": days[5]})
    assert figures(body["totals"]) == history.counts(days[0], days[2])
    assert [b["daysWithoutData"] for b in body["series"]] == [0, 0, 0, 1, 1, 1]


# --- the rollup: idempotent, final days frozen ---------------------------------------------------


def _rollup_rows(sql: psycopg.Connection[DictRow], start: date, end: date) -> dict[str, list[dict[str, Any]]]:
    rows = {
        table: sql.execute(
            f"select * from {table} where day between %s and %s order by 1, 2, 3",
            (start, end),
        ).fetchall()
        for table in ("analytics_day", "analytics_day_value", "analytics_day_product")
    }
    rows["analytics_month_product"] = sql.execute(
        "select * from analytics_month_product where month = %s order by 1, 2, 3", (start.replace(day=1),)
    ).fetchall()
    return rows


def test_rolling_a_day_up_again_writes_the_same_rows(history: History, sql) -> None:
    days = [MONDAY + timedelta(days=i) for i in range(3)]
    sql.execute("insert into analytics_day (day, created, abandoned, recovered, converted, computed_at)"
                " values (%s, 999, 999, 999, 999, now() - interval '1 day')", (days[1],))  # fmt: skip
    # a day not final yet (a run while it ran) is recomputed from its sources, not added to
    roll_up(days)
    first = _rollup_rows(sql, days[0], days[-1])
    assert first["analytics_day"][1]["created"] == history.counts(days[1], days[1])["created"]
    # a final day is never written again: a late row in its sources changes nothing
    sql.execute(
        "insert into cart_line_removal (removed_at, product_id, quantity) values (%s, %s, 7)",
        (utc(days[0]), history.products[0]),
    )
    assert roll_up(days) == [None, None, None]
    assert _rollup_rows(sql, days[0], days[-1]) == first


def test_overlapping_rollups_of_one_day_queue_up_and_agree(history: History, sql) -> None:
    day = MONDAY + timedelta(days=7)
    sql.execute("insert into analytics_day (day, created, abandoned, recovered, converted, computed_at)"
                " values (%s, 0, 0, 0, 0, now())", (day,))  # fmt: skip
    # two runs of the same (not yet final) day at once, as a retried sweep beside the next one
    barrier, results, errors = threading.Barrier(2), [], []

    def run() -> None:
        barrier.wait()
        try:
            results.append(roll_up([day]))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    written = [r[0] for r in results]
    assert sum(r is not None for r in written) >= 1  # the first makes it final; the second finds it so
    rows = _rollup_rows(sql, day, day)
    assert rows["analytics_day"][0]["created"] == history.counts(day, day)["created"]
    products = rows["analytics_day_product"]
    assert len(products) == len({(p["kind"], p["product_id"]) for p in products})  # no day written twice


# --- who may ask, and what they may ask -------------------------------------------------------------


def test_only_admins_may_read_the_analytics(admin: User, user: User) -> None:
    reply = analytics_as(None)
    assert_problem(reply, 401, "authentication_required")
    assert "X-Cart-Session" not in reply.headers and not reply.cookies  # no guest session started
    assert_problem(analytics_as(user.access_token), 403, "forbidden")
    assert_problem(analytics_as("not-a-jwt"), 401, "invalid_token")
    assert analytics_as(admin.access_token).status == 200
    assert analytics_as(admin.id_token).status == 200


def test_the_default_range_is_the_30_days_to_today(report) -> None:
    today = datetime.now(UTC).date()
    body = report()
    assert (body["from"], body["to"]) == ((today - timedelta(days=29)).isoformat(), today.isoformat())
    assert len(body["series"]) == 30
    only_to = report(to="2003-03-31")
    assert (only_to["from"], only_to["to"]) == ("2003-03-02", "2003-03-31")


def test_a_year_and_a_day_is_the_longest_range(admin: User, report) -> None:
    longest = report(**{"from": "2003-01-01", "to": "2004-01-01"})  # 366 days
    assert len(longest["series"]) == analytics.MAX_RANGE_DAYS
    body = assert_problem(analytics_as(admin.access_token, **{"from": "2003-01-01", "to": "2004-01-02"}),
                          422, "range_too_long")  # fmt: skip
    assert (body["maxDays"], body["days"]) == (analytics.MAX_RANGE_DAYS, 367)
    body = assert_problem(analytics_as(admin.access_token, **{"from": "2003-02-02", "to": "2003-02-01"}),
                          422, "range_reversed")  # fmt: skip
    assert (body["from"], body["to"]) == ("2003-02-02", "2003-02-01")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2003-02-30"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2003-13-01"}, "to"),
        ({"to": "1999-12-31"}, "to"),  # before the first day a report covers
        ({"from": "20030201"}, "from"),
        ({"bucket": "hour"}, "bucket"),
    ],
)
def test_bad_dates_and_buckets_are_422_naming_the_field(admin: User, query: dict[str, str], field: str) -> None:
    body = assert_problem(analytics_as(admin.access_token, **query), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == [field]


# --- today's figures, as the API and the sweep write their sources ----------------------------------


def today() -> date:
    return datetime.now(UTC).date()


def refusals(sql: psycopg.Connection[DictRow]) -> dict[str, int]:
    return dict(one(sql.execute("select * from analytics_refusals(%s)", (today(),))))


def removals(sql: psycopg.Connection[DictRow], product_id: str) -> list[int]:
    """The quantities of the removal rows of ``product_id``, oldest first."""
    rows = sql.execute(
        "select quantity from cart_line_removal where product_id = %s order by removed_at", (product_id,)
    ).fetchall()
    return [row["quantity"] for row in rows]


def test_each_way_a_shopper_removes_a_line_is_recorded_in_the_same_round_trip(
    sql, make_product, shopper, logged
) -> None:
    mug, cup, pot, jar = (make_product(stock=50)["id"] for _ in range(4))
    # remove
    line = shopper.add(mug, 2).json["items"][0]["id"]
    logged.clear()
    assert shopper.remove(line).status == 200
    assert logged.operation()["round_trips"] == 1
    # quantity 0
    cart = shopper.add(cup, 3).json
    logged.clear()
    assert shopper.update(cart["items"][0]["id"], quantity=0).status == 200
    assert logged.operation()["round_trips"] == 1
    # clear: every line
    shopper.add(mug, 1)
    shopper.add(pot, 4)
    logged.clear()
    assert shopper.clear().status == 200
    assert logged.operation()["round_trips"] == 1
    assert (removals(sql, mug), removals(sql, cup), removals(sql, pot)) == ([2, 1], [3], [4])
    # saved for later is not removed; a refused or missing removal records nothing
    saved = shopper.add(jar, 1).json["items"][0]["id"]
    assert shopper.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": saved}).status == 200
    assert_problem(shopper.remove(str(uuid.uuid4())), 404, "item_not_found")
    assert removals(sql, jar) == []


def test_a_sync_that_drops_a_line_records_it_as_removed(sql, make_product, fresh_settings, monkeypatch) -> None:
    monkeypatch.setenv("SYNC_STRATEGY", "replace")  # the client's copy wins: what it no longer holds goes
    kept, dropped = make_product()["id"], make_product()["id"]
    shopper = Shopper()
    shopper.add(kept, 1)
    shopper.add(dropped, 2)
    reply = shopper.call("POST", "/cart/sync", body={"items": [{"productId": kept, "quantity": 1}]})
    assert reply.status == 200, reply
    assert [i["productId"] for i in reply.json["cart"]["items"]] == [kept]
    assert (removals(sql, kept), removals(sql, dropped)) == ([], [2])


def test_refusals_are_counted_by_reason_though_the_refused_change_rolls_back(sql, make_product, shopper) -> None:
    scarce = make_product(stock=1)["id"]
    bounded = make_product(stock=50, max_per_order=2)["id"]
    signed_in_only = make_product()["id"]
    sql.execute("update product set requires_auth = true where id = %s", (signed_in_only,))
    euros = make_product(currency="EUR")["id"]
    cart = shopper.add(bounded, 1).json
    before = refusals(sql)
    assert_problem(shopper.add(scarce, 5), 409, "insufficient_stock")
    assert_problem(shopper.add(bounded, 2), 422, "limit_exceeded")
    assert_problem(shopper.add(signed_in_only, 1), 422, "restricted")
    assert_problem(shopper.add(euros, 1), 422, "currency_mismatch")
    # problems that are no refusal of stock, a limit or a rule count nothing
    assert_problem(shopper.remove(str(uuid.uuid4())), 404, "item_not_found")
    stale = shopper.call("POST", "/cart/items", body={"productId": bounded}, headers={"If-Match": '"999"'})
    assert_problem(stale, 409, "version_conflict")
    assert shopper.call("GET", "/cart", headers={"If-None-Match": f'"{cart["version"]}"'}).status == 304
    after = refusals(sql)
    assert {k: after[k] - before[k] for k in after} == {"stock": 1, "limits": 1, "rules": 2}
    # and nothing the refused changes wrote stayed
    assert shopper.get().json["version"] == cart["version"]
    assert one(sql.execute("select count(*) as n from cart_item where product_id = any(%s::uuid[])",
                           ([scarce, signed_in_only, euros],)))["n"] == 0  # fmt: skip


def _today_as_reported(report: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    roll_up([today()], live=True)
    body = report(**{"from": today(), "to": today()})
    assert body["asOf"] is not None
    return body


def _values_today(sql: psycopg.Connection[DictRow]) -> dict[tuple[str, str], tuple[int, int]]:
    rows = sql.execute("select * from analytics_day_value where day = %s", (today(),)).fetchall()
    return {(r["kind"], r["currency"]): (r["carts"], int(r["total"])) for r in rows}


def test_todays_figures_follow_what_shoppers_the_sweep_and_orders_do(sql, make_product, user: User, report) -> None:
    from cart_common import carts
    from cart_common.store import mark_abandoned

    # Given no idle cart of earlier tests due to be marked, today's figures as reported now
    sql.execute("update cart set last_activity_at = now()"
                " where status = 'active' and abandoned_at is null and last_activity_at < now() - interval '1 hour'")  # fmt: skip
    before, values_before = _today_as_reported(report), _values_today(sql)
    scarce, lamp = make_product(stock=1, price=700)["id"], make_product(stock=50, price=1250)["id"]
    # When a guest starts a cart, is refused once for stock, and removes a line
    guest = Shopper()
    guest.add(lamp, 2)
    assert_problem(guest.add(scarce, 3), 409, "insufficient_stock")
    guest.update(guest.get().json["items"][0]["id"], quantity=0)
    guest.add(lamp, 1)
    # and a user's cart sits idle, is marked abandoned by the sweep, and is then ordered (recovered)
    buyer = Shopper(bearer=user.access_token)
    buyer.add(lamp, 3)
    sql.execute("update cart set last_activity_at = now() - interval '25 hours' where user_id = %s"
                " and status = 'active'", (user.sub,))  # fmt: skip
    database = Database()
    try:
        assert database.run(lambda conn: mark_abandoned(conn, batch=100, hours=24))["marked"] == 1
    finally:
        database.close()
    checkout = buyer.call("POST", "/cart/checkout")
    assert checkout.status == 200, checkout
    done = carts.complete_checkout(uuid.UUID(checkout.json["checkoutId"]), f"order-{uuid.uuid4()}")
    assert done.recovered
    # Then today's figures moved by exactly that
    after = _today_as_reported(report)
    moved = {key: after["totals"][key] - before["totals"][key]
             for key in ("created", "abandoned", "recovered", "converted")}  # fmt: skip
    assert moved == {"created": 2, "abandoned": 1, "recovered": 1, "converted": 1}
    assert after["totals"]["active"] - before["totals"]["active"] == 1  # the guest's; the buyer's is converted
    assert {k: after["totals"]["refusals"][k] - before["totals"]["refusals"][k] for k in ("stock", "limits", "rules")} == {
        "stock": 1, "limits": 0, "rules": 0}  # fmt: skip
    values_after = _values_today(sql)

    def grew(kind: str) -> tuple[int, int]:
        carts_after, total_after = values_after[(kind, "USD")]
        carts_before, total_before = values_before.get((kind, "USD"), (0, 0))
        return carts_after - carts_before, total_after - total_before

    assert grew("abandoned") == (1, 3 * 1250) and grew("converted") == (1, 3 * 1250)
    removed = one(sql.execute("select * from analytics_day_product where kind = 'removed' and day = %s"
                              " and product_id = %s", (today(), lamp)))  # fmt: skip
    assert (removed["times"], removed["units"]) == (1, 2)
    abandoned = one(sql.execute("select * from analytics_day_product where kind = 'abandoned' and day = %s"
                                " and product_id = %s", (today(), lamp)))  # fmt: skip
    assert (abandoned["times"], abandoned["units"]) == (1, 3)
    # today is not final: every run writes it again
    assert one(sql.execute("select final from analytics_day where day = %s", (today(),)))["final"] is False


def test_the_sweep_rolls_up_today_after_expiry(sql) -> None:
    from cart_common.lifecycle import sweep

    before = sql.execute("select computed_at from analytics_day where day = %s", (today(),)).fetchone()
    database = Database()
    try:
        report = sweep(database, lambda: 600_000)
    finally:
        database.close()
    assert report.complete and report.analytics_days >= 1  # today, and any earlier day not final yet
    row = one(sql.execute("select * from analytics_day where day = %s", (today(),)))
    assert row["final"] is False and row["active"] is not None
    assert before is None or row["computed_at"] > before["computed_at"]
    assert one(sql.execute("select count(*) as n from analytics_day where not final and day < %s", (today(),)))[
        "n"
    ] == 0 or (
        datetime.now(UTC) - datetime.combine(today(), datetime.min.time(), UTC) < timedelta(minutes=16)
    )  # yesterday is final unless the day began less than the grace period ago
