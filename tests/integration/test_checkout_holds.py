"""The checkout bucket counts what a shopper holds, not how often they look at checkout (issue 20):
a checkout that reserves takes a token and records it on the checkout; a re-checkout of the same
cart replaces the reservation and nets nothing; a reservation released (by a change to the cart, a
re-checkout, the order service), expired or completed gives its token back, once.

Real PostgreSQL; time is never waited for: buckets are frozen (no refill) so every token is exact."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import psycopg
import pytest
from psycopg.rows import DictRow

from cart_common import carts, store
from cart_common.config import Limits, get_settings
from cart_common.db import Database, pipeline
from cart_common.session import Owner
from cart_common.store import limits as rate
from tests.conftest import Shopper, User
from tests.integration.test_database import round_trips
from tests.integration.test_rate_limits import bucket, freeze, policies


@pytest.fixture
def quota(fresh_settings, monkeypatch) -> Callable[[int], None]:
    """Sets this test's checkout bucket: ``q`` tokens an hour."""

    def set_quota(q: int) -> None:
        monkeypatch.setenv("RATE_LIMIT_CHECKOUTS", str(q))
        monkeypatch.setenv("RATE_LIMIT_CHECKOUTS_WINDOW_S", "3600")
        get_settings.cache_clear()

    return set_quota


def checkout(shopper: Shopper):
    return shopper.call("POST", "/cart/checkout")


def left(reply) -> int:
    """The checkout bucket's tokens left, as the RateLimit header says."""
    return policies(reply.headers["RateLimit"])["checkouts"]["r"]


def key(user: User) -> str:
    return f"checkouts:user:{user.sub}"


def open_checkouts(sql: psycopg.Connection[DictRow], user: User) -> list[dict]:
    return sql.execute(
        "select k.id::text as id, k.token_bucket from checkout k join cart c on c.id = k.cart_id"
        " where c.user_id = %s and k.status = 'open'",
        (user.sub,),
    ).fetchall()


def tokens(sql: psycopg.Connection[DictRow], user: User) -> float:
    return bucket(sql, key(user))["tokens"]


def signed_in(user: User, make_product, *, stock: int = 50) -> tuple[Shopper, dict]:
    shopper = Shopper(bearer=user.access_token)
    product = make_product(stock=stock)
    assert shopper.add(product["id"], 2).status == 200
    return shopper, product


def test_ten_re_checkouts_of_one_cart_in_an_hour_all_succeed(user: User, quota, make_product, sql) -> None:
    """Issue 20's reproduction (before: checkouts 1-3 → 200, the 4th → 429 rate_limited): the shopper
    goes back to checkout ten times, editing the cart in between every other time; the bucket never
    runs down (one reservation held, one token out) and the last reservation is the only one."""
    quota(3)
    shopper, product = signed_in(user, make_product)
    first = checkout(shopper)
    assert first.status == 200 and left(first) == 2
    freeze(sql, key(user))  # no refill from here on: every token is accounted for
    ids = {first.json["checkoutId"]}
    for attempt in range(9):
        if attempt % 2:
            assert shopper.add(product["id"], 1).status == 200  # an edit releases the reservation
            assert tokens(sql, user) == 3
        reply = checkout(shopper)
        assert reply.status == 200, reply
        assert left(reply) == 2
        ids.add(reply.json["checkoutId"])
    assert len(ids) == 10
    (held,) = open_checkouts(sql, user)
    assert held["id"] == reply.json["checkoutId"] and held["token_bucket"] == key(user)
    assert tokens(sql, user) == 2


def test_a_re_checkout_replaces_the_hold_even_on_an_empty_bucket_in_one_round_trip(
    user: User, quota, make_product, sql
) -> None:
    quota(1)
    shopper, _ = signed_in(user, make_product)
    first = checkout(shopper)
    assert first.status == 200 and left(first) == 0
    freeze(sql, key(user))
    replies = []
    assert round_trips(lambda: replies.append(checkout(shopper))) == 1
    assert replies[0].status == 200 and left(replies[0]) == 0
    (held,) = open_checkouts(sql, user)
    assert held["id"] == replies[0].json["checkoutId"] != first.json["checkoutId"]
    assert tokens(sql, user) == 0


def test_a_change_that_releases_the_hold_gives_its_token_back_in_its_own_round_trip(
    user: User, quota, make_product, sql
) -> None:
    quota(2)
    shopper, product = signed_in(user, make_product)
    opened = checkout(shopper)
    assert opened.status == 200
    freeze(sql, key(user))
    assert tokens(sql, user) == 1
    assert round_trips(lambda: shopper.add(product["id"], 1)) == 1
    assert open_checkouts(sql, user) == []
    assert tokens(sql, user) == 2
    (released,) = sql.execute(
        "select status, token_bucket from checkout where id = %s", (opened.json["checkoutId"],)
    ).fetchall()
    assert released == {"status": "released", "token_bucket": None}
    assert shopper.add(product["id"], 1).status == 200  # nothing more to give back
    assert tokens(sql, user) == 2


def _order_service_release(checkout_id: str) -> int:
    """What the order service's consumer does on PaymentFailed / CheckoutCancelled: the checkout
    released and its lines dropped, then ``rate.released_checkout`` in the same round trip."""
    policy = get_settings().rate_policy("checkouts")
    assert policy is not None
    db = Database()
    try:
        results = db.run(
            lambda conn: pipeline(
                conn,
                [
                    (
                        "with k as (update checkout set status = 'released'"
                        " where id = %(id)s::uuid and status = 'open' returning id)"
                        " delete from reservation r using k where r.checkout_id = k.id",
                        {"id": checkout_id},
                    ),
                    rate.released_checkout(policy, uuid.UUID(checkout_id)),
                ],
            )
        )
    finally:
        db.close()
    return results[-1][0]["refunded"]


def test_the_order_services_release_gives_the_token_back_once_whatever_the_replays(
    user: User, quota, make_product, sql
) -> None:
    quota(2)
    shopper, _ = signed_in(user, make_product)
    opened = checkout(shopper)
    freeze(sql, key(user))
    assert tokens(sql, user) == 1
    assert [_order_service_release(opened.json["checkoutId"]) for _ in range(3)] == [1, 0, 0]
    assert tokens(sql, user) == 2


def test_releasing_a_checkout_still_open_gives_nothing(user: User, quota, make_product, sql) -> None:
    quota(2)
    shopper, _ = signed_in(user, make_product)
    opened = checkout(shopper)
    freeze(sql, key(user))
    policy = get_settings().rate_policy("checkouts")
    assert policy is not None
    db = Database()
    try:
        (rows,) = db.run(lambda conn: pipeline(conn, [rate.released_checkout(policy, opened.json["checkoutId"])]))
    finally:
        db.close()
    assert rows[0]["refunded"] == 0 and tokens(sql, user) == 1
    assert [held["id"] for held in open_checkouts(sql, user)] == [opened.json["checkoutId"]]


def test_a_completed_checkout_gives_its_token_back_once(user: User, quota, make_product, sql) -> None:
    quota(2)
    shopper, _ = signed_in(user, make_product)
    opened = checkout(shopper)
    freeze(sql, key(user))
    assert tokens(sql, user) == 1
    checkout_id = uuid.UUID(opened.json["checkoutId"])
    carts.complete_checkout(checkout_id)
    assert tokens(sql, user) == 2
    policy = get_settings().rate_policy("checkouts")
    assert policy is not None
    db = Database()
    try:  # a replayed completion event runs the refund again: nothing more comes back
        (rows,) = db.run(lambda conn: pipeline(conn, [rate.completed_checkout(policy, checkout_id)]))
    finally:
        db.close()
    assert rows[0]["refunded"] == 0 and tokens(sql, user) == 2


def test_an_expired_hold_gives_its_token_back_when_the_sweep_purges_it(user: User, quota, make_product, sql) -> None:
    from cart_common import lifecycle

    quota(2)
    shopper, _ = signed_in(user, make_product)
    opened = checkout(shopper)
    freeze(sql, key(user))
    sql.execute(
        "update checkout set expires_at = now() - interval '1 second' where id = %s", (opened.json["checkoutId"],)
    )
    assert tokens(sql, user) == 1
    db = Database()
    try:
        assert lifecycle.sweep(db, lambda: 60_000).complete
    finally:
        db.close()
    assert sql.execute("select 1 from checkout where id = %s", (opened.json["checkoutId"],)).fetchall() == []
    assert tokens(sql, user) == 2


def test_an_expired_hold_gives_its_token_back_at_the_next_checkout(user: User, quota, make_product, sql) -> None:
    quota(1)
    shopper, _ = signed_in(user, make_product)
    opened = checkout(shopper)
    freeze(sql, key(user))
    sql.execute(
        "update checkout set expires_at = now() - interval '1 second' where id = %s", (opened.json["checkoutId"],)
    )
    again = checkout(shopper)
    assert again.status == 200 and left(again) == 0
    (status,) = sql.execute("select status from checkout where id = %s", (opened.json["checkoutId"],)).fetchall()
    assert status["status"] == "released"


def test_parallel_checkouts_and_edits_of_one_cart_leave_one_hold_and_one_token_out(
    user: User, quota, make_product, sql
) -> None:
    """Why the bucket limits what a shopper holds at once: a user has one active cart and a cart one
    open checkout, so however many checkouts and edits race (different devices, retries), one
    reservation is held at the end and exactly one token is out; none is refused, none deadlocks."""
    quota(2)
    shopper, product = signed_in(user, make_product, stock=1000)
    assert checkout(shopper).status == 200
    freeze(sql, key(user))
    policy = get_settings().rate_policy("checkouts")
    assert policy is not None
    owner = Owner("user", user.sub)
    for _ in range(5):
        barrier, outcomes, errors = threading.Barrier(8), [], []

        def race(index: int) -> None:
            db = Database()
            try:
                db.connection()
                barrier.wait(timeout=10)
                if index % 4 == 3:  # an edit on another device
                    db.run(
                        lambda conn: store.add_item(
                            conn,
                            store.Change(owner, 90),
                            product_id=uuid.UUID(product["id"]),
                            variant_id=None,
                            quantity=1,
                            attributes={},
                            limits=Limits(99),
                            default_currency="USD",
                        )
                    )
                    outcomes.append("edited")
                else:
                    opened, _, _ = db.run(
                        lambda conn: store.reserve_stock(
                            conn,
                            owner,
                            limits=Limits(99),
                            minutes=15,
                            accept_prices=False,
                            hoarding=(rate.hoarding(policy, owner), []),
                        )
                    )
                    outcomes.append("held" if opened else "blocked")
            except Exception as exc:  # a 429, a deadlock or anything else fails the round
                errors.append(exc)
            finally:
                db.close()

        threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == [] and sorted(outcomes) == ["edited"] * 2 + ["held"] * 6
        # the last to run decides: an edit leaves nothing held and every token back
        held = open_checkouts(sql, user)
        assert len(held) <= 1
        assert tokens(sql, user) == 2 - len(held)
        assert all(h["token_bucket"] == key(user) for h in held)
