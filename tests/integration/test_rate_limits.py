"""Abuse controls (issue 14) on real PostgreSQL: per-owner token buckets checked inside each
change's own round trip (429 rate_limited, Retry-After, RateLimit-Policy / RateLimit), new guest
carts per client address, failed discount codes, checkout hoarding, and conditional reads (304).

Time is never waited for: a bucket is refilled by moving its row's clock back in the database."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.rows import DictRow

from cart_common import carts, store
from cart_common.address import address_key
from cart_common.config import Limits, get_settings
from cart_common.db import Database, queue
from cart_common.errors import RateLimited
from cart_common.session import Owner, hash_token
from cart_common.store import limits as rate
from tests.conftest import MUG, POSTER, Shopper, User
from tests.integration.test_cart_api import assert_problem
from tests.integration.test_database import round_trips


def policies(header: str) -> dict[str, dict[str, int]]:
    """``"changes";q=3;w=60, "guest-carts";q=50;w=3600`` -> {"changes": {"q": 3, "w": 60}, ...}."""
    found = {}
    for item in header.split(", "):
        name, *params = item.split(";")
        found[name.strip('"')] = {key: int(value) for key, value in (param.split("=") for param in params)}
    return found


@pytest.fixture
def limits(fresh_settings, monkeypatch) -> Callable[..., None]:
    """Set rate limits for this test (``changes=3`` is RATE_LIMIT_CHANGES=3, ``enabled`` is
    RATE_LIMITS_ENABLED, and so on)."""

    def set_limits(**values: int | str) -> None:
        for name, value in values.items():
            monkeypatch.setenv("RATE_LIMITS_ENABLED" if name == "enabled" else f"RATE_LIMIT_{name.upper()}", str(value))
        get_settings.cache_clear()

    return set_limits


def bucket(sql: psycopg.Connection[DictRow], key: str) -> dict:
    (row,) = sql.execute("select tokens, at, full_at from rate_bucket where key = %s", (key,)).fetchall()
    return row


def rewind(sql: psycopg.Connection[DictRow], key: str, seconds: float) -> None:
    """As if ``seconds`` had passed for the bucket ``key`` (it refills over them)."""
    sql.execute("update rate_bucket set at = at - make_interval(secs => %s) where key = %s", (seconds, key))


def freeze(sql: psycopg.Connection[DictRow], key: str) -> None:
    """Stops the bucket ``key``'s clock (its time is set ahead, so it refills nothing until then):
    what a request leaves and when it may retry are then exact, however slow the machine is."""
    sql.execute("update rate_bucket set at = now() + interval '1 day' where key = %s", (key,))


def changes_key(shopper: Shopper) -> str:
    return f"changes:guest:{hash_token(shopper.token or '')}"


# --- per-owner changes ------------------------------------------------------------------------


def test_a_burst_over_the_change_limit_is_429_with_retry_after_and_the_cart_is_unchanged(
    shopper: Shopper, limits, sql
) -> None:
    # Given 3 changes per 60 s (one token every 20 s)
    limits(changes=3, changes_window_s=60)
    # When the shopper makes 3 changes, each says what is left and when the bucket is full again
    seen = []
    for _ in range(3):
        reply = shopper.add(MUG)
        assert reply.status == 200, reply
        assert policies(reply.headers["RateLimit-Policy"])["changes"] == {"q": 3, "w": 60}
        seen.append(policies(reply.headers["RateLimit"])["changes"])
        freeze(sql, changes_key(shopper))
    assert seen == [{"r": 2, "t": 20}, {"r": 1, "t": 40}, {"r": 0, "t": 60}]
    before = shopper.get()
    # Then the 4th is refused with when to retry, and nothing in the cart changed
    refused = shopper.add(MUG)
    problem = assert_problem(refused, 429, "rate_limited")
    assert refused.headers["Retry-After"] == "20" and problem["retryAfter"] == 20
    assert problem["policy"] == "changes" and problem["limit"] == 3 and problem["windowSeconds"] == 60
    assert policies(refused.headers["RateLimit-Policy"]) == {"changes": {"q": 3, "w": 60}}
    assert policies(refused.headers["RateLimit"]) == {"changes": {"r": 0, "t": 20}}
    after = shopper.get()  # reads are not limited
    assert after.status == 200 and after.json == before.json
    assert after.json["items"][0]["quantity"] == 3 and after.headers["ETag"] == before.headers["ETag"]
    assert "RateLimit" not in after.headers


def test_every_kind_of_change_takes_a_token_and_the_bucket_refills_with_time(shopper: Shopper, limits, sql) -> None:
    limits(changes=4, changes_window_s=60)
    shopper.add(MUG)
    item = shopper.get().json["items"][0]["id"]
    assert shopper.update(item, quantity=2).status == 200
    assert shopper.call("POST", "/cart/items/{itemId}/save", path_params={"itemId": item}).status == 200
    assert shopper.clear().status == 200
    assert_problem(shopper.add(POSTER), 429, "rate_limited")
    assert shopper.get().json["items"] == []
    # When 20 s pass (one token), one more change gets through, and the next is refused again
    rewind(sql, changes_key(shopper), 20)
    assert shopper.add(POSTER).status == 200
    assert_problem(shopper.add(POSTER), 429, "rate_limited")


def test_a_change_refused_for_another_reason_spends_no_token(shopper: Shopper, limits) -> None:
    limits(changes=2, changes_window_s=60)
    assert shopper.add(MUG).status == 200
    assert_problem(shopper.add(POSTER, 50), 409, "insufficient_stock")  # rolled back, token and all
    reply = shopper.add(POSTER)
    assert reply.status == 200 and policies(reply.headers["RateLimit"])["changes"]["r"] == 0


def test_limits_switched_off_send_no_headers_and_take_no_tokens(shopper: Shopper, limits, sql) -> None:
    limits(changes=1, enabled="false")
    for _ in range(3):
        reply = shopper.add(MUG)
        assert reply.status == 200 and "RateLimit" not in reply.headers and "RateLimit-Policy" not in reply.headers
    assert sql.execute("select 1 from rate_bucket where key = %s", (changes_key(shopper),)).fetchall() == []


def test_parallel_changes_at_the_edge_of_a_bucket_admit_exactly_its_size(limits, database_url, sql) -> None:
    """Each round, 10 connections add to one owner's cart at once with 4 tokens left: exactly 4
    add (the bucket's row lock, then the cart's, in that order: no deadlock), 6 get 429."""
    limits(changes=4, changes_window_s=3600)
    policy = get_settings().rate_policy("changes")
    assert policy is not None
    for _ in range(5):
        owner = Owner("guest", f"race-{uuid.uuid4().hex}")
        barrier, admitted, refused, errors = threading.Barrier(10), [], [], []

        def add(owner: Owner = owner) -> None:
            db = Database()
            try:
                db.connection()
                barrier.wait(timeout=10)

                def work(conn: psycopg.Connection) -> None:
                    queue(conn, [rate.change(policy, owner)])
                    store.add_item(
                        conn, store.Change(owner, 30), product_id=uuid.UUID(MUG), variant_id=None, quantity=1,
                        attributes={}, limits=Limits(99), default_currency="USD",
                    )  # fmt: skip

                db.run(work)
                admitted.append(1)
            except RateLimited:
                refused.append(1)
            except Exception as exc:  # a deadlock or anything else fails the round
                errors.append(exc)
            finally:
                db.close()

        threads = [threading.Thread(target=add) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == [] and (len(admitted), len(refused)) == (4, 6)
        (line,) = sql.execute(
            "select i.quantity from cart c join cart_item i on i.cart_id = c.id where c.session_id = %s",
            (owner.key,),
        ).fetchall()
        assert line["quantity"] == 4


# --- new guest carts per client address ----------------------------------------------------------


def test_one_addresss_flood_of_new_guests_is_cut_off_while_other_addresses_are_not(limits, sql) -> None:
    limits(guest_carts=3, guest_carts_window_s=3600)
    flood = [Shopper(source_ip="198.51.100.7") for _ in range(4)]
    for guest in flood[:3]:
        reply = guest.add(MUG)
        assert reply.status == 200 and "guest-carts" in policies(reply.headers["RateLimit"])
        freeze(sql, f"guest-carts:{address_key('198.51.100.7')}")
    refused = flood[3].add(MUG)
    problem = assert_problem(refused, 429, "rate_limited")
    assert problem["policy"] == "guest-carts" and refused.headers["Retry-After"] == str(3600 // 3)
    assert refused.headers.get("X-Cart-Session"), "the new guest still gets its session"
    assert flood[3].get().json["items"] == []  # no cart was created
    # Guests of that address who already have a cart go on; a new guest elsewhere is not affected
    again = flood[0].add(MUG)
    assert again.status == 200 and "guest-carts" not in policies(again.headers["RateLimit"])
    assert Shopper(source_ip="198.51.100.8").add(MUG).status == 200
    # The address is kept only as a keyed hash
    keys = [row["key"] for row in sql.execute("select key from rate_bucket where key like 'guest-carts:%'")]
    assert keys and not any("198.51.100" in key for key in keys)


def test_signed_in_users_carts_are_not_counted_per_address(limits, make_user) -> None:
    limits(guest_carts=1, guest_carts_window_s=3600)
    for _ in range(2):
        reply = Shopper(bearer=make_user().access_token, source_ip="198.51.100.20").add(MUG)
        assert reply.status == 200 and "guest-carts" not in policies(reply.headers["RateLimit"])


# --- failed discount codes ------------------------------------------------------------------------


def apply(shopper: Shopper, code: str):
    return shopper.call("POST", "/cart/discount-codes", body={"code": code})


@pytest.fixture
def good_code(sql) -> str:
    code = f"OK{uuid.uuid4().hex[:8].upper()}"
    sql.execute("insert into discount_code (code, kind, value) values (%s, 'percent', 10)", (code,))
    return code


def test_discount_code_guessing_is_throttled_and_counted(shopper: Shopper, limits, good_code, capsys, sql) -> None:
    limits(failed_codes=3, failed_codes_window_s=3600)
    shopper.add(MUG)
    for attempt in range(3):
        assert_problem(apply(shopper, f"GUESS{attempt}"), 422, "discount_code_invalid")
        freeze(sql, f"failed-codes:guest:{hash_token(shopper.token or '')}")
    assert capsys.readouterr().out.count('"FailedDiscountCodes"') >= 3  # the metric, one per refusal
    # Then every attempt is refused, a right one too: guessing learns nothing more
    version = shopper.get().json["version"]
    for code in ("GUESS9", good_code):
        refused = apply(shopper, code)
        problem = assert_problem(refused, 429, "rate_limited")
        assert problem["policy"] == "failed-codes" and refused.headers["Retry-After"] == "1200"
    cart = shopper.get().json
    assert cart["discountCodes"] == [] and cart["version"] == version


def test_a_right_code_spends_no_failed_code_token(shopper: Shopper, limits, good_code, sql) -> None:
    limits(failed_codes=1, failed_codes_window_s=3600)
    shopper.add(MUG)
    reply = apply(shopper, good_code)
    assert reply.status == 200 and reply.json["discountCodes"][0]["code"] == good_code
    assert policies(reply.headers["RateLimit"])["failed-codes"]["r"] == 1
    assert (
        sql.execute(
            "select 1 from rate_bucket where key = %s and tokens < 1",
            (f"failed-codes:guest:{hash_token(shopper.session_token)}",),
        ).fetchall()
        == []
    )


# --- checkout hoarding ----------------------------------------------------------------------------


def checkout(shopper: Shopper):
    return shopper.call("POST", "/cart/checkout")


def test_a_new_hold_on_an_empty_checkout_bucket_is_cut_off_and_nothing_changes(
    user: User, limits, make_product, sql
) -> None:
    """The bucket counts holds (tests/integration/test_checkout_holds.py): a re-checkout gives the
    replaced hold's token back before it takes one, so only a hold whose token was never recorded
    (opened before migration 0013) on an emptied bucket leaves a checkout short of a token."""
    limits(checkouts=2, checkouts_window_s=3600)
    product = make_product(stock=5)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(product["id"], 2)
    first = checkout(shopper)
    assert first.status == 200 and policies(first.headers["RateLimit"])["checkouts"]["r"] == 1
    second = checkout(shopper)  # replaces the first: its token back, one taken
    assert second.status == 200 and policies(second.headers["RateLimit"])["checkouts"]["r"] == 1
    sql.execute("update checkout set token_bucket = null where id = %s", (second.json["checkoutId"],))
    sql.execute("update rate_bucket set tokens = 0 where key = %s", (f"checkouts:user:{user.sub}",))
    freeze(sql, f"checkouts:user:{user.sub}")
    before = shopper.get().json
    refused = checkout(shopper)
    problem = assert_problem(refused, 429, "rate_limited")
    assert problem["policy"] == "checkouts" and refused.headers["Retry-After"] == "1800"
    # Nothing changed: the second checkout still holds the stock, the cart is as it was
    (held,) = sql.execute(
        "select k.id::text as id from checkout k join cart c on c.id = k.cart_id"
        " where c.user_id = %s and k.status = 'open'",
        (user.sub,),
    ).fetchall()
    assert held["id"] == second.json["checkoutId"]
    assert shopper.get().json == before
    assert bucket(sql, f"checkouts:user:{user.sub}")["tokens"] < 1


def test_a_checkout_that_opens_nothing_spends_no_hoarding_token(user: User, limits, sql) -> None:
    limits(checkouts=1, checkouts_window_s=3600)
    shopper = Shopper(bearer=user.access_token)
    for _ in range(2):
        assert_problem(checkout(shopper), 409, "cart_empty")
    shopper.add(MUG)
    assert checkout(shopper).status == 200  # the one token was still there
    assert bucket(sql, f"checkouts:user:{user.sub}")["tokens"] < 1


def test_a_completed_checkout_gives_its_token_back(user: User, limits, make_product, sql) -> None:
    limits(checkouts=1, checkouts_window_s=3600)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(make_product(stock=5)["id"], 1)
    opened = checkout(shopper)
    assert opened.status == 200
    carts.complete_checkout(uuid.UUID(opened.json["checkoutId"]))
    assert bucket(sql, f"checkouts:user:{user.sub}")["tokens"] >= 1
    shopper.add(make_product(stock=5)["id"], 1)
    assert checkout(shopper).status == 200


# --- conditional reads ----------------------------------------------------------------------------


@pytest.fixture(params=["guest", "user"])
def reader(request, make_user) -> Iterator[Shopper]:
    yield Shopper() if request.param == "guest" else Shopper(bearer=make_user().access_token)


def test_an_unchanged_cart_is_304_without_a_body_in_one_round_trip(reader: Shopper) -> None:
    reader.add(MUG)
    etag = reader.get().headers["ETag"]
    conditional = lambda tag=etag: reader.call("GET", "/cart", headers={"If-None-Match": tag})  # noqa: E731
    trips = round_trips(lambda: conditional())
    reply = conditional()
    assert trips == 1
    assert reply.status == 304 and reply.json is None and not reply.raw.get("body")
    assert reply.headers["ETag"] == etag
    assert conditional(f"W/{etag}").status == 304 and conditional('"999", ' + etag).status == 304
    assert conditional("*").status == 304


def test_a_changed_cart_is_200_with_the_new_etag_in_one_round_trip(reader: Shopper) -> None:
    reader.add(MUG)
    etag = reader.get().headers["ETag"]
    reader.add(MUG)
    replies = []
    assert round_trips(lambda: replies.append(reader.call("GET", "/cart", headers={"If-None-Match": etag}))) == 1
    (reply,) = replies
    assert reply.status == 200 and reply.json["items"][0]["quantity"] == 2
    assert reply.headers["ETag"] != etag and reply.headers["ETag"] == f'"{reply.json["version"]}"'


def test_a_guest_without_a_cart_matches_version_0(shopper: Shopper) -> None:
    first = shopper.get()  # a new session: no cart
    assert first.headers["ETag"] == '"0"'
    assert shopper.call("GET", "/cart", headers={"If-None-Match": '"0"'}).status == 304
    shopper.add(MUG)
    assert shopper.call("GET", "/cart", headers={"If-None-Match": '"0"'}).status == 200


# --- one round trip -------------------------------------------------------------------------------


def test_every_rate_limited_change_stays_one_round_trip(user: User, limits, good_code, make_product) -> None:
    limits(changes=1000)
    guest = Shopper()
    guest.get()
    assert round_trips(lambda: guest.add(MUG)) == 1  # creates the cart: changes and guest-carts buckets
    assert round_trips(lambda: apply(guest, good_code)) == 1
    assert round_trips(lambda: guest.call("POST", "/cart/sync", body={"items": []})) == 1
    shopper = Shopper(bearer=user.access_token)
    shopper.add(make_product(stock=5)["id"], 1)
    assert round_trips(lambda: checkout(shopper)) == 1  # changes and checkouts buckets
    assert round_trips(lambda: shopper.call("POST", "/cart/merge")) == 1
    # A refused code is charged after its refusal rolled back: a second round trip, on that path only
    assert round_trips(lambda: apply(guest, "NOSUCHCODE")) == 2


# --- the sweep ------------------------------------------------------------------------------------


def sweep():
    from cart_common import lifecycle

    db = Database()
    try:
        return lifecycle.sweep(db, lambda: 60_000)
    finally:
        db.close()


def test_the_sweep_drops_refilled_buckets_and_counts_users_cut_off_from_checkout(
    user: User, limits, make_product, sql
) -> None:
    limits(checkouts=1, checkouts_window_s=3600, changes=5, changes_window_s=60)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(make_product(stock=5)["id"], 1)
    assert checkout(shopper).status == 200
    assert checkout(shopper).status == 200  # a re-checkout replaces the hold: still one token out
    refilled, hoarder = f"changes:user:{user.sub}", f"checkouts:user:{user.sub}"
    sql.execute("update rate_bucket set full_at = now() - interval '1 second' where key = %s", (refilled,))
    report = sweep()
    assert report.complete and report.rate_buckets_purged >= 1 and report.checkouts_limited >= 1
    assert sql.execute("select 1 from rate_bucket where key = %s", (refilled,)).fetchall() == []
    assert bucket(sql, hoarder)["tokens"] < 1  # an empty bucket stays
    rewind(sql, hoarder, 3600)  # an hour later the user may check out again, and is no longer counted
    assert sweep().checkouts_limited == report.checkouts_limited - 1
