"""The cart lifecycle sweep (expiry, abandoned carts, recovery, retention) and the admin listing of
abandoned carts, on real PostgreSQL. Ages are made by moving timestamps back with test-side SQL;
the sweep itself only ever compares them with the database's ``now()``."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from psycopg.rows import DictRow
from werkzeug.test import Client

from cart_common import lifecycle
from cart_common.db import Database
from cart_common.lifecycle import SweepReport, sweep
from local import stack, template
from tests.conftest import MUG, ROOT, Reply, Shopper, User, http_event, json_of, one, routes
from tests.integration.test_cart_api import assert_problem
from tests.integration.test_signin import claims_for, forge

PLENTY_MS = 600_000
LISTING = "/admin/carts/abandoned"


def plenty() -> int:
    return PLENTY_MS


def sweep_until_done(database: Database | None = None) -> SweepReport:
    report = sweep(database or Database(), plenty)
    assert report.complete, report
    return report


def find_cart_row(sql: psycopg.Connection[DictRow], cart_id: str) -> dict[str, Any] | None:
    """The cart's row, or None when there is none (the sweep deleted it)."""
    return sql.execute("select * from cart where id = %s", (cart_id,)).fetchone()


def cart_row(sql: psycopg.Connection[DictRow], cart_id: str) -> dict[str, Any]:
    """The cart's row: the test fails here when there is none."""
    return one(sql.execute("select * from cart where id = %s", (cart_id,)))


def age(sql: psycopg.Connection[DictRow], cart_id: str, **intervals: str) -> None:
    """Move a cart's timestamps into the past, e.g. ``age(sql, id, last_activity_at="25 hours")``."""
    sets = ", ".join(f"{column} = now() - %s::interval" for column in intervals)
    sql.execute(f"update cart set {sets} where id = %s", (*intervals.values(), cart_id))


def expire(sql: psycopg.Connection[DictRow], cart_id: str) -> None:
    sql.execute("update cart set expires_at = now() - interval '1 minute' where id = %s", (cart_id,))


def guest_cart(product_id: str = MUG, quantity: int = 1, **add: Any) -> tuple[Shopper, dict[str, Any]]:
    shopper = Shopper()
    reply = shopper.add(product_id, quantity, **add)
    assert reply.status == 200, reply
    return shopper, reply.json


class Countdown(stack.LambdaContext):
    """A Lambda context whose remaining time allows ``batches`` sweep batches, then runs out (the
    first reading is the one the run starts its budget from)."""

    def __init__(self, batches: int) -> None:
        super().__init__("ExpireCartsFunction", 300)
        self.readings = 0
        self.batches = batches

    def get_remaining_time_in_millis(self) -> int:
        self.readings += 1
        return 60_000 if self.readings <= self.batches + 1 else 1_000


@pytest.fixture
def quiet(sql: psycopg.Connection[DictRow]) -> None:
    """This test's sweep sees only this test's old carts: what earlier tests left marked abandoned
    or idle is made fresh, and what they left expired is swept away first."""
    sql.execute("update cart set abandoned_at = null where abandoned_at is not null")
    sql.execute(
        "update cart set last_activity_at = now()"
        " where status = 'active' and last_activity_at < now() - interval '1 hour'"
    )
    sweep_until_done()


# --- expiry ------------------------------------------------------------------------------------


def test_expired_carts_are_deleted_with_their_lines_and_live_ones_are_kept(sql, user: User, quiet) -> None:
    # Given an expired guest cart, an expired user cart, expired merged and converted carts, and a live cart
    _, expired_guest = guest_cart()
    _, live = guest_cart()
    expired_user = Shopper(bearer=user.access_token).add(MUG).json
    _, merged = guest_cart()
    _, converted = guest_cart()
    sql.execute("update cart set status = 'merged', merged_at = now() where id = %s", (merged["id"],))
    sql.execute("update cart set status = 'converted' where id = %s", (converted["id"],))
    for cart in (expired_guest, expired_user, merged, converted):
        expire(sql, cart["id"])
    # When the sweep runs
    report = sweep_until_done()
    # Then the expired carts and their lines are gone, counted by kind; the live cart is untouched
    for cart in (expired_guest, expired_user, merged, converted):
        assert find_cart_row(sql, cart["id"]) is None
    gone = [c["id"] for c in (expired_guest, expired_user, merged, converted)]
    lines = one(sql.execute("select count(*) as n from cart_item where cart_id = any(%s::uuid[])", (gone,)))
    assert lines["n"] == 0
    assert (report.expired, report.expired_guest, report.expired_user, report.expired_closed) == (4, 1, 1, 2)
    assert cart_row(sql, live["id"])["version"] == live["version"]
    # And a second run finds nothing to do (idempotent)
    assert sweep_until_done().expired == 0


def test_a_cart_touched_after_it_expired_is_kept(sql, quiet) -> None:
    """Sliding expiry: any change moves expires_at forward, so the shopper's cart survives."""
    shopper, cart = guest_cart()
    expire(sql, cart["id"])
    assert shopper.add(MUG).status == 200  # the shopper comes back before the sweep runs
    assert sweep_until_done().expired == 0
    slid = sql.execute("select expires_at > now() + interval '29 days' as slid from cart where id = %s", (cart["id"],))
    assert one(slid)["slid"]


def test_a_cart_being_changed_while_the_sweep_runs_is_skipped_not_waited_for_and_kept(sql, database_url, quiet) -> None:
    # Given an expired cart that a shopper's transaction is changing right now (its row lock held)
    _, cart = guest_cart()
    expire(sql, cart["id"])
    with psycopg.connect(database_url) as shopper_tx:
        shopper_tx.execute(
            "update cart set expires_at = now() + interval '30 days', last_activity_at = now() where id = %s",
            (cart["id"],),
        )
        # When the sweep runs meanwhile
        started = time.monotonic()
        report = sweep_until_done()
        # Then it did not wait for the shopper, and did not count the cart
        assert time.monotonic() - started < 4  # a wait would last until the statement timeout (5 s)
        assert report.expired == 0
        shopper_tx.commit()
    # And the cart, now live again, is kept by later runs too
    sweep_until_done()
    assert find_cart_row(sql, cart["id"]) is not None


def test_a_cart_skipped_because_it_was_locked_is_deleted_by_the_next_run_if_still_expired(
    sql, database_url, quiet
) -> None:
    _, cart = guest_cart()
    expire(sql, cart["id"])
    with psycopg.connect(database_url) as reader:
        reader.execute("select 1 from cart where id = %s for update", (cart["id"],))
        assert sweep_until_done().expired == 0
        reader.rollback()  # nothing changed: the cart is still expired
    assert sweep_until_done().expired == 1
    assert find_cart_row(sql, cart["id"]) is None


def _expired_fleet(sql: psycopg.Connection[DictRow], guests: int, merged_pairs: int) -> int:
    """Expired guest carts with lines, and expired user carts each with an expired guest cart merged
    into it; returns how many carts that is. The pairs expire first, in an order that crosses them:
    the first ``merged_pairs`` carts by expiry are the odd pairs' user carts and the even pairs'
    guest carts, the next ``merged_pairs`` the others. Two sweeps taking one half each would hold
    each other's pairs (deleting a user cart updates its guest cart's merged_into) and deadlock,
    unless a user cart waits for its guest cart to go first."""
    tag = uuid.uuid4().hex[:8]
    sql.execute(
        "insert into cart (session_id, currency, expires_at) "
        "select 'fleet-' || %s || '-' || g, 'USD', now() - interval '1 hour' from generate_series(1, %s) g",
        (tag, guests),
    )
    sql.execute(
        "insert into cart_item (cart_id, product_id, quantity, price_at_add) "
        "select id, %s, 2, 1250 from cart where session_id like 'fleet-' || %s || '-%%'",
        (MUG, tag),
    )
    sql.execute(
        """
        with pairs as (
            select g, now() - interval '1 day' + make_interval(secs => g) as early,
                   now() - interval '1 day' + make_interval(secs => g + %(pairs)s) as late
            from generate_series(1, %(pairs)s) g
        ),
        users as (
            insert into cart (user_id, currency, expires_at)
            select 'fleet-user-' || %(tag)s || '-' || g, 'USD', case when g %% 2 = 1 then early else late end
            from pairs
            returning id, user_id
        )
        insert into cart (session_id, status, merged_at, merged_into, currency, expires_at)
        select 'fleet-merged-' || u.user_id, 'merged', now(), u.id, 'USD', case when g %% 2 = 1 then late else early end
        from users u join pairs on u.user_id = 'fleet-user-' || %(tag)s || '-' || g
        """,
        {"tag": tag, "pairs": merged_pairs},
    )
    return guests + 2 * merged_pairs


def test_overlapping_sweeps_split_the_work_without_double_counting_or_deadlocks(sql, quiet) -> None:
    # Given 2,400 expired carts, including user carts with merged guest carts pointing at them
    expired = _expired_fleet(sql, guests=2000, merged_pairs=200)
    # When two sweeps run at once, each in its own execution environment (connection), small batches
    barrier = threading.Barrier(2)
    reports: list[SweepReport] = []
    errors: list[BaseException] = []

    def environment() -> None:
        database = Database()
        try:
            barrier.wait(timeout=30)
            reports.append(sweep(database, plenty, batch_size=200))  # one half of the pairs each
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=environment) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # Then neither failed (a deadlock would), both finished, and every cart was counted exactly once
    assert not errors, errors
    assert len(reports) == 2 and all(r.complete for r in reports)
    assert sum(r.expired for r in reports) == expired
    assert all(r.expired > 0 for r in reports), "both sweeps took a share"
    left = one(sql.execute("select count(*) as n from cart where expires_at < now()"))["n"]
    assert left == 0


def test_a_sweep_that_runs_out_of_time_stops_and_the_next_run_finishes(sql, quiet) -> None:
    # Given 50 expired carts
    expired = _expired_fleet(sql, guests=50, merged_pairs=0)
    # When a run has time for three batches of ten
    first = sweep(Database(), Countdown(batches=3).get_remaining_time_in_millis, batch_size=10)
    # Then it stops with 30 deleted, says so, and leaves the rest
    assert (first.expired, first.complete, first.stopped_in, first.batches) == (30, False, "expire", 3)
    assert one(sql.execute("select count(*) as n from cart where expires_at < now()"))["n"] == expired - 30
    # And the next run, with time enough, finishes the job
    second = sweep(Database(), plenty, batch_size=10)
    assert (second.expired, second.complete) == (expired - 30, True)


def test_the_scheduled_function_sweeps_within_its_time_and_emits_metrics(sql, quiet, capsys, caplog) -> None:
    # Given an expired cart and the function as the schedule invokes it
    _, cart = guest_cart()
    expire(sql, cart["id"])
    function = next(f for f in template.functions() if f.name == "ExpireCartsFunction")
    handler = stack.load_function(function)
    event = json.loads((ROOT / "events" / "expire_carts.json").read_text())
    capsys.readouterr()
    caplog.clear()
    # When it runs with too little time for a single batch
    assert handler(event, Countdown(batches=0))["complete"] is False
    assert find_cart_row(sql, cart["id"]) is not None
    # And then with its full timeout
    report = handler(event, stack.LambdaContext(function.name, 300))
    # Then the cart is gone, the report says so, and the run's metrics and log line were written
    assert report["complete"] is True and report["expired"] == 1
    assert find_cart_row(sql, cart["id"]) is None
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    metrics = [line for line in lines if "_aws" in line and "CartsExpired" in line]
    assert metrics[-1]["CartsExpired"] == [1.0]
    emitted = {m["Name"] for m in metrics[-1]["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"CartsExpired", "CartsMarkedAbandoned", "CartsAnonymised", "SweepDurationMs"} <= emitted
    logged = [record for record in caplog.records if record.getMessage() == "Cart lifecycle sweep"]
    assert [record.sweep["expired"] for record in logged] == [0, 1]  # one structured line per run
    assert lifecycle.logger.get_correlation_id() == event["id"]


# --- abandoned carts ---------------------------------------------------------------------------


def test_idle_carts_with_lines_are_marked_abandoned_with_value_and_snapshot(
    sql, make_product, user: User, listing, quiet
) -> None:
    # Given a signed-in user's cart (an ID token, so their email is captured) with two lines, idle 25 hours
    mug = make_product(price=1000)
    shirt = make_product(price=2000, variants=[{"price": 2500, "stock": 10}])
    shopper = Shopper(bearer=user.id_token)
    shopper.add(mug["id"], 2)
    cart = shopper.add(shirt["id"], 1, variant_id=shirt["variants"][0]["id"]).json
    age(sql, cart["id"], last_activity_at="25 hours")
    # ... whose mug got dearer since it was added; an idle empty cart; and a cart idle for only 23 hours
    sql.execute("update product set price = 1100 where id = %s", (mug["id"],))
    empty_shopper, empty = guest_cart()
    empty_shopper.clear()
    age(sql, empty["id"], last_activity_at="25 hours")
    _, recent = guest_cart()
    age(sql, recent["id"], last_activity_at="23 hours")
    # When the sweep runs
    report = sweep_until_done()
    # Then only the user's cart is marked, at current prices, with its lines as they were
    assert report.marked_abandoned == 1
    row = cart_row(sql, cart["id"])
    assert row["abandoned_at"] is not None and row["anonymised_at"] is None
    assert row["abandoned_value"] == 2 * 1100 + 2500
    assert row["abandoned_items"] == [
        {"productId": mug["id"], "variantId": None, "name": _name(sql, mug), "quantity": 2, "unitPrice": 1100},
        {"productId": shirt["id"], "variantId": shirt["variants"][0]["id"], "name": _name(sql, shirt),
         "quantity": 1, "unitPrice": 2500},
    ]  # fmt: skip
    assert cart_row(sql, empty["id"])["abandoned_at"] is None
    assert cart_row(sql, recent["id"])["abandoned_at"] is None
    # And the listing shows it with the user's email, captured from their token
    listed = listing(minValue=4700)
    assert [(c["id"], c["userId"], c["userEmail"], c["totalValue"]) for c in listed["carts"]] == [
        (cart["id"], user.sub, user.email, 4700)
    ]
    # And marking twice is not a thing: the next run leaves it alone
    assert sweep_until_done().marked_abandoned == 0


def _name(sql: psycopg.Connection[DictRow], product: dict[str, Any]) -> str:
    return one(sql.execute("select name from product where id = %s", (product["id"],)))["name"]


def test_any_later_activity_clears_the_mark_and_keeps_the_snapshot(sql, listing, quiet) -> None:
    shopper, cart = guest_cart(MUG, 2)
    age(sql, cart["id"], last_activity_at="2 days")
    sweep_until_done()
    assert cart_row(sql, cart["id"])["abandoned_at"] is not None
    # When the shopper changes their cart (here: the quantity of a line)
    item = cart["items"][0]["id"]
    assert shopper.update(item, quantity=3).status == 200
    # Then the mark is cleared, the snapshot kept (for recovery), and the cart is no longer listed
    row = cart_row(sql, cart["id"])
    assert row["abandoned_at"] is None and row["abandoned_value"] == 2 * 1250
    assert cart["id"] not in {c["id"] for c in listing(limit=200)["carts"]}
    # And an add clears a fresh mark just the same
    age(sql, cart["id"], last_activity_at="2 days")
    sweep_until_done()
    assert cart_row(sql, cart["id"])["abandoned_at"] is not None
    assert shopper.add(MUG).status == 200
    assert cart_row(sql, cart["id"])["abandoned_at"] is None


def test_a_converted_cart_that_had_been_abandoned_is_marked_recovered_once(sql, database_url, quiet) -> None:
    # Given a cart that was marked abandoned, then came back (mark cleared, snapshot kept)
    shopper, cart = guest_cart()
    age(sql, cart["id"], last_activity_at="2 days")
    sweep_until_done()
    shopper.add(MUG)
    # When checkout converts it and records the recovery (through a Database)
    sql.execute("update cart set status = 'converted' where id = %s", (cart["id"],))
    assert lifecycle.mark_recovered(Database(), uuid.UUID(cart["id"])) is True
    recovered = cart_row(sql, cart["id"])
    assert recovered["recovered_at"] is not None and recovered["abandoned_at"] is None
    # Then a replay (on a connection inside the caller's transaction) keeps the first time
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert lifecycle.mark_recovered(conn, uuid.UUID(cart["id"])) is True
    assert cart_row(sql, cart["id"])["recovered_at"] == recovered["recovered_at"]
    # And a cart that was never abandoned is not "recovered"
    _, other = guest_cart()
    assert lifecycle.mark_recovered(Database(), uuid.UUID(other["id"])) is False
    assert cart_row(sql, other["id"])["recovered_at"] is None


# --- retention -----------------------------------------------------------------------------------


def _abandoned(sql: psycopg.Connection[DictRow], days_ago: dict[str, int]) -> None:
    """Mark carts through the sweep, then make each mark ``days_ago[cart_id]`` days old (their
    expiry pushed a year out, as with a user cart TTL longer than the retention)."""
    for cart_id, days in days_ago.items():
        sql.execute("update cart set expires_at = now() + interval '1 year' where id = %s", (cart_id,))
        age(sql, cart_id, last_activity_at=f"{days + 1} days")
    sweep_until_done()
    for cart_id, days in days_ago.items():
        assert cart_row(sql, cart_id)["abandoned_at"] is not None
        age(sql, cart_id, abandoned_at=f"{days} days")


def test_old_abandoned_records_are_anonymised_and_active_carts_keep_their_owner(sql, make_user, listing, quiet) -> None:
    # Given a user's active cart abandoned 91 days ago, and another user's abandoned 89 days ago
    alice, bob = make_user(), make_user()
    shopper = Shopper(bearer=alice.id_token)  # ID tokens: their emails are captured
    cart = shopper.add(MUG, 3).json
    recent = Shopper(bearer=bob.id_token).add(MUG).json
    _abandoned(sql, {cart["id"]: 91, recent["id"]: 89})
    sql.execute("update shopper set updated_at = now() - interval '200 days' where user_id = %s", (alice.sub,))
    # When the sweep runs
    report = sweep_until_done()
    # Then the old record is anonymised: listed without user or email, value and items kept
    assert report.anonymised == 1
    listed = {c["id"]: c for c in listing(limit=200)["carts"]}
    assert (listed[cart["id"]]["userId"], listed[cart["id"]]["userEmail"]) == (None, None)
    assert listed[cart["id"]]["totalValue"] == 3 * 1250 and listed[cart["id"]]["items"][0]["quantity"] == 3
    # ... the user's email is gone (no cart activity, and not captured, in 90 days)
    assert sql.execute("select 1 from shopper where user_id = %s", (alice.sub,)).fetchone() is None
    assert report.emails_removed == 1
    # ... but the cart is still the user's own
    assert cart_row(sql, cart["id"])["user_id"] == alice.sub
    assert Shopper(bearer=alice.access_token).get().json["itemCount"] == 3
    # And the younger record is untouched
    assert (listed[recent["id"]]["userId"], listed[recent["id"]]["userEmail"]) == (bob.sub, bob.email)
    # And when the user comes back and leaves again, the new record names them again
    shopper.add(MUG)
    _abandoned(sql, {cart["id"]: 1})
    assert cart_row(sql, cart["id"])["anonymised_at"] is None
    assert {c["id"]: c for c in listing(limit=200)["carts"]}[cart["id"]]["userId"] == alice.sub


def test_anonymised_carts_that_are_no_longer_active_lose_every_owner_key(sql, user: User, quiet) -> None:
    # Given a guest cart merged into a user's cart and a user's converted cart, both abandoned 100 days ago
    _, guest = guest_cart()
    converted = Shopper(bearer=user.access_token).add(MUG).json
    _abandoned(sql, {guest["id"]: 100, converted["id"]: 100})
    sql.execute(
        "update cart set status = 'merged', merged_at = now(), merged_into = %s where id = %s",
        (converted["id"], guest["id"]),
    )
    sql.execute("update cart set status = 'converted' where id = %s", (converted["id"],))
    # When the sweep runs
    assert sweep_until_done().anonymised == 2
    # Then nothing in either row leads to a person
    for cart in (guest, converted):
        row = cart_row(sql, cart["id"])
        assert row["anonymised_at"] is not None
        assert (row["user_id"], row["session_id"], row["merged_into"]) == (None, None, None)
        assert row["abandoned_value"] == 1250  # the numbers stay
    assert sweep_until_done().anonymised == 0


def test_emails_are_kept_while_their_user_is_active_or_recently_captured(sql, make_user, quiet) -> None:
    active, captured, gone = make_user(), make_user(), make_user()
    for u in (active, captured, gone):
        sql.execute("insert into shopper (user_id, email) values (%s, %s) on conflict do nothing", (u.sub, u.email))
    Shopper(bearer=active.access_token).add(MUG)  # a cart changed today
    sql.execute(
        "update shopper set updated_at = now() - interval '1 year' where user_id in (%s, %s)", (active.sub, gone.sub)
    )
    sweep_until_done()
    remaining = {r["user_id"] for r in sql.execute("select user_id from shopper").fetchall()}
    assert active.sub in remaining and captured.sub in remaining
    assert gone.sub not in remaining


# --- GET /admin/carts/abandoned ------------------------------------------------------------------


def list_as(bearer: str | None, headers: dict[str, str] | None = None, **query: Any) -> Reply:
    """GET /admin/carts/abandoned through its handler, with a query string as API Gateway sends it."""
    route = routes()[("GET", LISTING)]
    headers = {**({"authorization": f"Bearer {bearer}"} if bearer else {}), **(headers or {})}
    event = http_event("GET", LISTING, headers=headers)
    if query:
        event["queryStringParameters"] = {name: str(value) for name, value in query.items()}
        event["rawQueryString"] = urlencode(event["queryStringParameters"])
    return Reply(stack.load_function(route)(event, stack.LambdaContext(route.function, 10)))


@pytest.fixture
def listing(admin: User) -> Callable[..., dict[str, Any]]:
    """The listing as the admin sees it."""

    def fetch(**query: Any) -> dict[str, Any]:
        reply = list_as(admin.access_token, **query)
        assert reply.status == 200, reply
        return reply.json

    return fetch


def test_the_cognito_admin_group_reaches_the_token_claims(admin: User) -> None:
    import jwt

    for token in (admin.access_token, admin.id_token):
        assert jwt.decode(token, options={"verify_signature": False})["cognito:groups"] == ["admin"]


def test_only_admins_may_list_abandoned_carts(admin: User, user: User, cognito) -> None:
    # Guests: 401, and no guest session is started for them
    reply = list_as(None)
    assert_problem(reply, 401, "authentication_required")
    assert "X-Cart-Session" not in reply.headers and not reply.cookies
    shopper, _ = guest_cart()
    guest_reply = list_as(None, headers={"x-cart-session": shopper.session_token})
    assert_problem(guest_reply, 401, "authentication_required")
    # Signed in without the group: 403
    assert_problem(list_as(user.access_token), 403, "forbidden")
    assert_problem(list_as(user.id_token), 403, "forbidden")
    # Invalid tokens: 401 invalid_token, even when they claim the group
    assert_problem(list_as("not-a-jwt"), 401, "invalid_token")
    expired = forge(claims_for(admin, cognito, exp=int(time.time()) - 60, **{"cognito:groups": ["admin"]}))
    assert_problem(list_as(expired), 401, "invalid_token")
    # The admin group: 200, with either of its tokens
    assert list_as(admin.access_token).status == 200
    assert list_as(admin.id_token).status == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"minValue": -5}, "minValue"),
        ({"minValue": "1.5"}, "minValue"),
        ({"since": "last tuesday"}, "since"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(admin: User, query: dict, field: str) -> None:
    body = assert_problem(list_as(admin.access_token, **query), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == [field]


def test_the_listing_is_sorted_by_value_then_last_activity_filtered_and_paginated(
    sql, make_product, listing, quiet
) -> None:
    # Given four abandoned carts: C 9000; B 5000, idle 26 hours; A 5000, idle 30 hours; D 1000
    carts = {}
    for name, price, idle_hours in (("A", 5000, 30), ("B", 5000, 26), ("C", 9000, 27), ("D", 1000, 28)):
        _, cart = guest_cart(make_product(price=price)["id"], 1)
        age(sql, cart["id"], last_activity_at=f"{idle_hours} hours")
        carts[name] = cart["id"]
    sweep_until_done()
    # ... A and D abandoned three days ago
    for name in "AD":
        age(sql, carts[name], abandoned_at="3 days")

    def order(page: dict[str, Any]) -> str:
        return "".join(next(k for k, v in carts.items() if v == c["id"]) for c in page["carts"])

    # Then: by value descending, then last activity descending
    everything = listing()
    assert (order(everything), everything["total"]) == ("CBAD", 4)
    first = everything["carts"][0]
    assert set(first) == {
        "id", "userId", "userEmail", "items", "totalValue", "currency", "lastActivity", "abandonedAt", "recoveryUrl"
    }  # fmt: skip
    assert (first["totalValue"], first["currency"], first["userId"]) == (9000, "USD", None)
    assert first["items"][0]["unitPrice"] == 9000
    # Pages: limit and offset, with the total of all pages
    assert (order(listing(limit=2)), listing(limit=2)["total"]) == ("CB", 4)
    assert (order(listing(limit=2, offset=2)), listing(limit=2, offset=2)["total"]) == ("AD", 4)
    assert listing(offset=4) == {"carts": [], "total": 4}
    # Filters: minValue (inclusive) and since (abandoned at or after)
    assert (order(listing(minValue=5000)), listing(minValue=5000)["total"]) == ("CBA", 3)
    since = one(sql.execute("select now() - interval '2 days' as t"))["t"].isoformat()
    assert order(listing(since=since)) == "CB"
    assert order(listing(since=since, minValue=6000)) == "C"


# --- the template and the local stack ------------------------------------------------------------


def test_the_template_schedules_the_sweep_with_retries_a_dead_letter_queue_and_only_the_db_secret() -> None:
    resources = template.load()["Resources"]
    sweep_fn = resources["ExpireCartsFunction"]["Properties"]
    (event,) = sweep_fn["Events"].values()
    assert event["Type"] == "Schedule" and event["Properties"]["Schedule"] == {"Ref": "ExpirySchedule"}
    assert sweep_fn["Timeout"] == 300
    assert sweep_fn["EventInvokeConfig"]["MaximumRetryAttempts"] == 2
    on_failure = sweep_fn["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": "ExpireCartsDeadLetterQueue.Arn"}}
    assert resources["ExpireCartsDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    # The database (its secret, or IAM sign-in to the created proxy) and the bus (CartAbandoned): not the session key.
    assert sweep_fn["Policies"] == [{"Ref": "DatabaseAccessPolicy"}, {"Ref": "EventPublishPolicy"}]
    (statement,) = resources["DatabaseAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    _, existing, created = statement["Fn::If"]
    assert (existing["Action"], existing["Resource"]) == (
        "secretsmanager:GetSecretValue",
        {"Fn::If": ["ExistingDbWithAppSecret", {"Ref": "DbAppSecretArn"}, {"Ref": "DbSecretArn"}]},
    )  # the application user's secret when there is one (DbAppSecretArn)
    assert created["Action"] == "rds-db:connect"
    assert set(sweep_fn["Environment"]["Variables"]) == {"ABANDONED_AFTER_HOURS", "ABANDONED_RETENTION_DAYS"}
    routes = {(r.method, r.path): r.function for r in template.routes()}
    assert routes[("GET", LISTING)] == "ListAbandonedCartsFunction"


def test_the_local_stack_runs_a_sweep_on_demand(sql, quiet) -> None:
    from local import dev

    _, cart = guest_cart()
    expire(sql, cart["id"])
    invoker = stack.make_invoker(workers=0)
    client = Client(stack.LocalApi(invoker, stack.dev_routes() | dev.sweep_routes(invoker)))
    reply = client.post("/dev/sweep")
    assert reply.status_code == 200
    assert json_of(reply)["complete"] is True and json_of(reply)["expired"] == 1
    assert find_cart_row(sql, cart["id"]) is None
    assert client.get("/dev/sweep").status_code == 404  # POST only (API Gateway's answer otherwise)
