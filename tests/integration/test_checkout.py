"""Checkout readiness: validation, stock reservations and their races, the guest redirect, completion,
optimistic concurrency (ETag / If-Match) and idempotency keys — on real PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from cart_common import carts, store
from cart_common.config import Limits
from cart_common.db import Database, exactly_once
from cart_common.errors import CheckoutExpired, CheckoutNotFound
from cart_common.session import Owner
from tests.conftest import MUG, POSTER, Shopper, User, one
from tests.integration.test_cart_api import assert_problem
from tests.integration.test_database import round_trips


def issues_by_type(reply) -> dict[str, dict]:
    return {issue["type"]: issue for issue in reply.json["issues"]}


def validate(shopper: Shopper):
    return shopper.call("POST", "/cart/validate")


def checkout(shopper: Shopper, **body):
    return shopper.call("POST", "/cart/checkout", body=body or None)


# --- validation ---------------------------------------------------------------------------------


def test_a_ready_cart_is_valid(shopper: Shopper) -> None:
    shopper.add(MUG, 2)
    reply = validate(shopper)
    assert reply.status == 200 and reply.json["valid"] is True and reply.json["issues"] == []
    assert reply.json["cart"]["itemCount"] == 2


def test_an_empty_cart_is_not_valid_but_has_no_issues(shopper: Shopper) -> None:
    reply = validate(shopper)
    assert reply.json["valid"] is False and reply.json["issues"] == []


def test_out_of_stock_and_insufficient_stock_with_current_stock(shopper: Shopper, make_product, sql) -> None:
    gone, short = make_product(stock=5), make_product(stock=5)
    shopper.add(gone["id"], 2)
    shopper.add(short["id"], 4)
    sql.execute("update product set stock = 0 where id = %s", (gone["id"],))
    sql.execute("update product set stock = 3 where id = %s", (short["id"],))
    found = {(i["type"], i["currentStock"]) for i in validate(shopper).json["issues"]}
    assert found == {("out_of_stock", 0), ("insufficient_stock", 3)}


def test_price_changes_are_issues_and_lines_flag_the_drop(shopper: Shopper, make_product, sql) -> None:
    cheaper, dearer = make_product(price=1000), make_product(price=1000)
    shopper.add(cheaper["id"])
    shopper.add(dearer["id"])
    sql.execute("update product set price = 800 where id = %s", (cheaper["id"],))
    sql.execute("update product set price = 1200 where id = %s", (dearer["id"],))
    reply = validate(shopper)
    prices = sorted(i["currentPrice"] for i in reply.json["issues"] if i["type"] == "price_changed")
    assert prices == [800, 1200]
    lines = {i["productId"]: i for i in reply.json["cart"]["items"]}
    assert lines[cheaper["id"]]["priceDrop"] is True and lines[dearer["id"]]["priceDrop"] is False
    assert reply.json["cart"]["subtotal"] == 2000  # totals at current prices


def test_an_unavailable_variant_offers_in_stock_alternatives(shopper: Shopper, make_product, sql) -> None:
    product = make_product(
        variants=[
            {"stock": 5, "attributes": {"size": "S"}},
            {"stock": 4, "attributes": {"size": "M"}},
            {"stock": 0, "attributes": {"size": "L"}},
        ]
    )
    small, medium, _large = (v["id"] for v in product["variants"])
    shopper.add(product["id"], 1, variant_id=small)
    sql.execute("update product_variant set active = false where id = %s", (small,))
    issue = issues_by_type(validate(shopper))["unavailable"]
    assert [(a["variantId"], a["available"]) for a in issue["alternatives"]] == [(medium, 4)]  # not L: none left
    assert issue["alternatives"][0]["attributes"] == {"size": "M"}


def test_a_deleted_product_is_not_in_the_cart_any_more(shopper: Shopper, make_product, sql) -> None:
    product = make_product()
    shopper.add(product["id"])
    sql.execute("delete from product where id = %s", (product["id"],))
    assert validate(shopper).json["cart"]["items"] == []  # lines cascade with their product


def test_a_lowered_max_per_order_is_limit_exceeded(shopper: Shopper, make_product, sql) -> None:
    product = make_product(stock=50)
    shopper.add(product["id"], 6)
    sql.execute("update product set max_per_order = 5 where id = %s", (product["id"],))
    assert issues_by_type(validate(shopper))["limit_exceeded"]["itemId"]


# --- checkout -----------------------------------------------------------------------------------


def test_a_guest_is_sent_to_sign_in(shopper: Shopper) -> None:
    shopper.add(MUG)
    problem = assert_problem(checkout(shopper), 401, "authentication_required")
    assert problem["loginUrl"] == "/auth?next=/checkout"


def test_checkout_reserves_stock_for_fifteen_minutes(user: User, make_product, sql) -> None:
    product = make_product(stock=3)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(product["id"], 2)
    reply = checkout(shopper)
    assert reply.status == 200, reply
    expires = datetime.fromisoformat(reply.json["expiresAt"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    assert reply.json["cart"]["itemCount"] == 2
    held = sql.execute(
        "select r.quantity from reservation r join checkout k on k.id = r.checkout_id where k.id = %s",
        (reply.json["checkoutId"],),
    ).fetchall()
    assert held == [{"quantity": 2}]


def test_other_shoppers_see_reserved_stock_as_gone(make_user, make_product) -> None:
    product = make_product(stock=3)
    first, second = Shopper(bearer=make_user().access_token), Shopper(bearer=make_user().access_token)
    first.add(product["id"], 2)
    second.add(product["id"], 2)
    assert checkout(first).status == 200
    issue = issues_by_type(validate(second))["insufficient_stock"]
    assert issue["currentStock"] == 1
    problem = assert_problem(checkout(second), 409, "checkout_blocked")
    assert [i["type"] for i in problem["issues"]] == ["insufficient_stock"]


def test_price_changes_block_checkout_until_accepted(user: User, make_product, sql) -> None:
    product = make_product(price=1000)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(product["id"])
    sql.execute("update product set price = 1100 where id = %s", (product["id"],))
    problem = assert_problem(checkout(shopper), 409, "checkout_blocked")
    assert problem["issues"][0]["type"] == "price_changed" and problem["cart"]["subtotal"] == 1100
    accepted = checkout(shopper, acceptPriceChanges=True)
    assert accepted.status == 200 and accepted.json["cart"]["items"][0]["priceAtAdd"] == 1100


def test_an_empty_cart_cannot_be_checked_out(user: User) -> None:
    assert_problem(checkout(Shopper(bearer=user.access_token)), 409, "cart_empty")


def test_two_shoppers_racing_for_the_last_unit_one_wins(make_user, make_product, sql) -> None:
    """Run many times: each round, N carts want the last unit at the same moment."""
    owners = [Owner("user", make_user().sub) for _ in range(4)]
    for _ in range(15):
        product = make_product(stock=1)
        for owner in owners:
            with _Db() as db:
                # run here and now, in this iteration: no default argument needed to bind the owner
                db.run(lambda conn: store.clear_cart(conn, store.Change(owner, 90)))
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
        barrier, results, errors = threading.Barrier(len(owners)), [], []

        def race(owner: Owner) -> None:
            db = Database()
            try:
                db.connection()
                barrier.wait(timeout=10)
                opened, _, _ = db.run(
                    lambda conn: store.reserve_stock(conn, owner, limits=Limits(99), minutes=15, accept_prices=False)
                )
                results.append(bool(opened))
            except Exception as exc:
                errors.append(exc)
            finally:
                db.close()

        threads = [threading.Thread(target=race, args=(o,)) for o in owners]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == [] and sorted(results) == [False, False, False, True]
        (held,) = sql.execute(
            "select coalesce(sum(r.quantity), 0) as n from reservation r join checkout k on k.id = r.checkout_id"
            " where k.status = 'open' and r.product_id = %s",
            (product["id"],),
        ).fetchall()
        assert held["n"] == 1


class _Db:  # a Database that closes its connection when the block ends
    def __enter__(self) -> Database:
        self.db = Database()
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.close()


def test_changing_the_cart_releases_its_reservation(make_user, make_product) -> None:
    product = make_product(stock=2)
    first, second = Shopper(bearer=make_user().access_token), Shopper(bearer=make_user().access_token)
    item = first.add(product["id"], 2).json["items"][0]["id"]
    second.add(product["id"], 2)
    assert checkout(first).status == 200
    assert checkout(second).status == 409
    first.update(item, quantity=1)  # any change releases the reservation
    assert checkout(second).status == 200


def test_an_expired_reservation_no_longer_holds_stock(make_user, make_product, sql) -> None:
    product = make_product(stock=1)
    first, second = Shopper(bearer=make_user().access_token), Shopper(bearer=make_user().access_token)
    first.add(product["id"])
    second.add(product["id"])
    checkout_id = checkout(first).json["checkoutId"]
    assert checkout(second).status == 409
    sql.execute("update checkout set expires_at = now() - interval '1 second' where id = %s", (checkout_id,))
    assert checkout(second).status == 200


def test_checking_out_again_replaces_the_previous_reservation(user: User, make_product, sql) -> None:
    product = make_product(stock=2)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(product["id"], 2)
    first, second = checkout(shopper).json["checkoutId"], checkout(shopper).json["checkoutId"]
    rows = sql.execute("select id::text as id, status from checkout where id in (%s, %s)", (first, second)).fetchall()
    statuses = {row["id"]: row["status"] for row in rows}
    assert statuses == {first: "released", second: "open"}


# --- completion (the order service) -------------------------------------------------------------


def test_completing_a_checkout_sells_the_stock_and_converts_the_cart(user: User, make_product, sql) -> None:
    product = make_product(stock=5)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(product["id"], 3)
    checkout_id = checkout(shopper).json["checkoutId"]
    done = carts.complete_checkout(uuid.UUID(checkout_id))
    assert done.user_id == user.sub and done.recovered is False
    assert one(sql.execute("select stock from product where id = %s", (product["id"],)))["stock"] == 2
    assert one(sql.execute("select status from cart where id = %s", (done.cart_id,)))["status"] == "converted"
    fresh = shopper.get().json
    assert fresh["id"] is None and fresh["items"] == []  # the next GET /cart is a fresh cart
    again = carts.complete_checkout(uuid.UUID(checkout_id))  # a replay: answered, not done twice
    assert again.replay and again.cart_id == done.cart_id
    assert one(sql.execute("select stock from product where id = %s", (product["id"],)))["stock"] == 2


def test_a_converted_cart_that_had_been_abandoned_is_recovered(user: User, make_product, sql) -> None:
    product = make_product()
    shopper = Shopper(bearer=user.access_token)
    cart_id = shopper.add(product["id"]).json["id"]
    sql.execute("update cart set abandoned_value = 1000 where id = %s", (cart_id,))  # marked once, then came back
    done = carts.complete_checkout(uuid.UUID(checkout(shopper).json["checkoutId"]))
    assert done.recovered is True
    assert one(sql.execute("select recovered_at from cart where id = %s", (cart_id,)))["recovered_at"]


def test_completing_a_released_or_unknown_checkout_fails(user: User, make_product, sql) -> None:
    # (a lapsed reservation completes while its stock is still there: tests/integration/test_completion.py)
    product = make_product(stock=5)
    shopper = Shopper(bearer=user.access_token)
    item = shopper.add(product["id"], 1).json["items"][0]["id"]
    released = checkout(shopper).json["checkoutId"]
    shopper.update(item, quantity=2)
    with pytest.raises(CheckoutExpired):
        carts.complete_checkout(uuid.UUID(released))
    with pytest.raises(CheckoutNotFound):
        carts.complete_checkout(uuid.uuid4())
    assert one(sql.execute("select stock from product where id = %s", (product["id"],)))["stock"] == 5


# --- ETag / If-Match ----------------------------------------------------------------------------


def test_every_cart_response_carries_its_version_as_etag(shopper: Shopper) -> None:
    assert shopper.get().headers["ETag"] == '"0"'
    reply = shopper.add(MUG)
    assert reply.headers["ETag"] == f'"{reply.json["version"]}"' == '"1"'


def test_if_match_with_the_current_version_applies(shopper: Shopper) -> None:
    shopper.add(MUG)
    reply = shopper.call("POST", "/cart/items", body={"productId": MUG}, headers={"If-Match": '"1"'})
    assert reply.status == 200 and reply.json["items"][0]["quantity"] == 2 and reply.headers["ETag"] == '"2"'


def test_if_match_zero_creates_the_first_cart(shopper: Shopper) -> None:
    assert shopper.call("POST", "/cart/items", body={"productId": MUG}, headers={"If-Match": '"0"'}).status == 200
    assert_problem(
        shopper.call("POST", "/cart/items", body={"productId": MUG}, headers={"If-Match": '"0"'}),
        409,
        "version_conflict",
    )


def test_a_stale_if_match_is_409_with_the_current_cart_and_changes_nothing(shopper: Shopper) -> None:
    item = shopper.add(MUG).json["items"][0]["id"]
    shopper.add(MUG)  # version 2 now
    for call in (
        lambda: shopper.call(
            "PATCH",
            "/cart/items/{itemId}",
            path_params={"itemId": item},
            body={"quantity": 9},
            headers={"If-Match": '"1"'},
        ),
        lambda: shopper.call(
            "DELETE", "/cart/items/{itemId}", path_params={"itemId": item}, headers={"If-Match": '"1"'}
        ),
        lambda: shopper.call("DELETE", "/cart", headers={"If-Match": 'W/"1"'}),
        lambda: shopper.call("POST", "/cart/items", body={"productId": MUG}, headers={"If-Match": "1"}),
    ):
        reply = call()
        problem = assert_problem(reply, 409, "version_conflict")
        assert problem["currentVersion"] == 2 and problem["cart"]["items"][0]["quantity"] == 2
        assert reply.headers["ETag"] == '"2"'
    assert shopper.get().json["version"] == 2


def test_checkout_honours_if_match_and_reserves_nothing_on_a_stale_version(user: User, make_product, sql) -> None:
    product = make_product(stock=3)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(product["id"], 1)
    version = shopper.add(product["id"], 1).json["version"]  # the cart the shopper reviewed is older
    stale = shopper.call("POST", "/cart/checkout", headers={"If-Match": f'"{version - 1}"'})
    problem = assert_problem(stale, 409, "version_conflict")
    assert problem["currentVersion"] == version and problem["cart"]["items"][0]["quantity"] == 2
    open_checkouts = """select count(*) as n from checkout k join cart c on c.id = k.cart_id
                        where c.user_id = %s and k.status = 'open'"""
    assert one(sql.execute(open_checkouts, (user.sub,)))["n"] == 0
    current = shopper.call("POST", "/cart/checkout", headers={"If-Match": f'"{version}"'})
    assert current.status == 200, current
    assert current.json["cart"]["version"] == version
    assert one(sql.execute(open_checkouts, (user.sub,)))["n"] == 1


@pytest.mark.parametrize("value", ['"abc"', '"-1"', "v3", '"1.5"'])
def test_a_malformed_if_match_is_400(shopper: Shopper, value: str) -> None:
    assert_problem(shopper.call("DELETE", "/cart", headers={"If-Match": value}), 400, "invalid_precondition")


def test_if_match_star_means_no_precondition(shopper: Shopper) -> None:
    shopper.add(MUG)
    assert shopper.call("DELETE", "/cart", headers={"If-Match": "*"}).status == 200


# --- Idempotency-Key ----------------------------------------------------------------------------


def add_with_key(shopper: Shopper, key: str, quantity: int = 1):
    return shopper.call(
        "POST", "/cart/items", body={"productId": MUG, "quantity": quantity}, headers={"Idempotency-Key": key}
    )


def test_a_retry_after_a_lost_response_returns_the_first_response_without_adding_again(shopper: Shopper) -> None:
    shopper.add(MUG, 1)
    key = str(uuid.uuid4())
    lost = add_with_key(shopper, key, 2)  # committed; pretend the response never arrived
    retried = add_with_key(shopper, key, 2)
    assert retried.status == 200 and retried.json == lost.json
    assert shopper.get().json["items"][0]["quantity"] == 3  # added once


def test_every_change_honours_its_idempotency_key(shopper: Shopper) -> None:
    """Not only adds: a retried removal replays its first answer instead of a 404 for the line it
    already removed (the OpenAPI document offers the header on every change)."""
    shopper.add(MUG, 1)
    item = next(line["id"] for line in shopper.add(POSTER, 1).json["items"] if line["productId"] == POSTER)
    key = str(uuid.uuid4())
    remove = lambda: shopper.call(  # noqa: E731
        "DELETE", "/cart/items/{itemId}", path_params={"itemId": item}, headers={"Idempotency-Key": key}
    )
    first, retried = remove(), remove()
    assert first.status == retried.status == 200 and retried.json == first.json
    assert [line["productId"] for line in shopper.get().json["items"]] == [MUG]
    assert shopper.call("DELETE", "/cart/items/{itemId}", path_params={"itemId": item}).status == 404  # no key


def test_the_same_key_with_another_body_is_422(shopper: Shopper) -> None:
    key = str(uuid.uuid4())
    add_with_key(shopper, key, 1)
    assert_problem(add_with_key(shopper, key, 5), 422, "idempotency_key_reused")
    assert shopper.get().json["items"][0]["quantity"] == 1


def test_keys_are_scoped_to_the_cart_owner(shopper: Shopper, other_shopper: Shopper) -> None:
    key = str(uuid.uuid4())
    add_with_key(shopper, key, 1)
    assert add_with_key(other_shopper, key, 1).json["items"][0]["quantity"] == 1
    assert add_with_key(other_shopper, key, 1).json["items"][0]["quantity"] == 1  # replay for the other owner


def test_a_failed_request_does_not_burn_its_key(shopper: Shopper, make_product, sql) -> None:
    product = make_product(stock=1)
    key = str(uuid.uuid4())
    body = {"productId": product["id"], "quantity": 2}
    refused = shopper.call("POST", "/cart/items", body=body, headers={"Idempotency-Key": key})
    assert refused.status == 409
    sql.execute("update product set stock = 5 where id = %s", (product["id"],))
    assert shopper.call("POST", "/cart/items", body=body, headers={"Idempotency-Key": key}).status == 200


def test_a_refused_keyed_change_leaves_no_transaction_or_row_lock_behind(
    user: User, make_product, sql, database_url: str
) -> None:
    """A keyed change runs in an explicit transaction; refused (in SQL, or after it: a checkout blocked
    for a price change), it is rolled back before the request ends, not when the execution environment's
    connection is next used (minutes later, in Lambda): meanwhile the rows it had locked (the cart, the
    products a checkout locks) would stop every other writer, the admin's price change among them."""
    product = make_product(price=1000, stock=1)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(product["id"])
    sql.execute("update product set price = 1100 where id = %s", (product["id"],))
    blocked = shopper.call("POST", "/cart/checkout", body={}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert_problem(blocked, 409, "checkout_blocked")
    refused = shopper.call("POST", "/cart/items", body={"productId": product["id"], "quantity": 5},
                           headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
    assert_problem(refused, 409, "insufficient_stock")
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("set lock_timeout = '2s'")
        other.execute("update product set price = 1200 where id = %s", (product["id"],))  # not blocked
        other.execute("update cart set updated_at = now() where user_id = %s", (user.sub,))
        open_ = other.execute(
            "select count(*) from pg_stat_activity where datname = current_database()"
            " and state like 'idle in transaction%%'"
        ).fetchone()
    assert open_ is not None and open_[0] == 0


def test_a_key_expires_after_24_hours(shopper: Shopper, sql) -> None:
    key = str(uuid.uuid4())
    add_with_key(shopper, key, 1)
    sql.execute("update idempotency_key set expires_at = now() - interval '1 second' where key = %s", (key,))
    assert add_with_key(shopper, key, 1).json["items"][0]["quantity"] == 2  # processed again


def test_an_idempotent_add_costs_two_round_trips(shopper: Shopper) -> None:
    shopper.add(MUG)
    assert round_trips(lambda: add_with_key(shopper, str(uuid.uuid4()))) == 2
    key = str(uuid.uuid4())
    add_with_key(shopper, key)
    assert round_trips(lambda: add_with_key(shopper, key)) == 2  # the refused claim, then the stored response


def test_idempotent_checkout_and_merge_replay_their_first_response(make_user, make_product) -> None:
    user = make_user()
    product = make_product(stock=5)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(product["id"], 1)
    key = str(uuid.uuid4())
    first = shopper.call("POST", "/cart/checkout", headers={"Idempotency-Key": key})
    again = shopper.call("POST", "/cart/checkout", headers={"Idempotency-Key": key})
    assert first.status == again.status == 200 and first.json["checkoutId"] == again.json["checkoutId"]
    guest = Shopper()
    guest.add(MUG, 2)
    signed = Shopper(bearer=user.access_token)
    signed.token = guest.token
    key = str(uuid.uuid4())
    merged = signed.call("POST", "/cart/merge", headers={"Idempotency-Key": key})
    signed.token = guest.token
    replay = signed.call("POST", "/cart/merge", headers={"Idempotency-Key": key})
    assert merged.json["merge"]["outcome"] == replay.json["merge"]["outcome"] == "merged"


@pytest.mark.parametrize("key", ["", " " * 3, "k" * 256, "tab\there"])
def test_a_malformed_idempotency_key_is_400(shopper: Shopper, key: str) -> None:
    assert_problem(add_with_key(shopper, key), 400, "invalid_idempotency_key")


def test_concurrent_retries_with_one_key_apply_once(database_url, shopper: Shopper) -> None:
    """Two deliveries of the same request at once: the second waits on the first's key row and
    answers its stored response."""
    shopper.add(MUG, 1)
    owner = Owner("guest", __import__("hashlib").sha256(shopper.session_token.encode()).hexdigest())
    key = str(uuid.uuid4())
    scope = f"guest:{owner.key}"
    barrier, outcomes = threading.Barrier(2), []

    def deliver() -> None:
        with _Db() as db:
            db.connection()
            barrier.wait(timeout=10)
            try:

                def apply(c: psycopg.Connection) -> str:
                    store.add_item(
                        c,
                        store.Change(owner, 30),
                        product_id=uuid.UUID(MUG),
                        variant_id=None,
                        quantity=1,
                        attributes={},
                        limits=Limits(99),
                        default_currency="USD",
                    )
                    return "applied"

                def once(conn: psycopg.Connection) -> str:
                    return exactly_once(
                        conn,
                        [store.claim_idempotency_key(scope, key, "h")],
                        apply,
                        lambda _: [store.save_idempotent_response(scope, key, {"ok": True})],
                    )

                outcomes.append(db.run(once))
            except Exception as exc:
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["IdempotencyReplay", "applied"]
    assert shopper.get().json["items"][0]["quantity"] == 2


# --- the expiry schedule and checkouts ------------------------------------------------------------


def _sweep(database_url: str):
    from cart_common import lifecycle

    with _Db() as db:
        return lifecycle.sweep(db, lambda: 60_000)


def test_the_sweep_purges_expired_and_released_checkouts_but_keeps_open_ones(
    user: User, make_product, sql, database_url
) -> None:
    product = make_product(stock=5)
    shopper = Shopper(bearer=user.access_token)
    item = shopper.add(product["id"], 1).json["items"][0]["id"]
    released = checkout(shopper).json["checkoutId"]
    shopper.update(item, quantity=2)  # releases it
    expired = checkout(shopper).json["checkoutId"]
    sql.execute("update checkout set expires_at = now() - interval '1 minute' where id = %s", (expired,))
    live = checkout(shopper).json["checkoutId"]
    report = _sweep(database_url)
    assert report.checkouts_purged >= 2
    remaining = {
        r["id"]
        for r in sql.execute("select id::text as id from checkout where id in (%s, %s, %s)", (released, expired, live))
    }
    assert remaining == {live}
    assert one(sql.execute("select count(*) as n from reservation where checkout_id = %s", (expired,)))["n"] == 0


def test_the_sweep_never_deletes_a_cart_whose_checkout_holds_stock(user: User, make_product, sql, database_url) -> None:
    shopper = Shopper(bearer=user.access_token)
    cart_id = shopper.add(make_product(stock=5)["id"], 1).json["id"]
    checkout_id = checkout(shopper).json["checkoutId"]
    sql.execute("update cart set expires_at = now() - interval '1 day' where id = %s", (cart_id,))
    _sweep(database_url)
    assert one(sql.execute("select count(*) as n from cart where id = %s", (cart_id,)))["n"] == 1
    sql.execute("update checkout set expires_at = now() - interval '1 minute' where id = %s", (checkout_id,))
    _sweep(database_url)  # the reservation is over: now the cart goes
    assert one(sql.execute("select count(*) as n from cart where id = %s", (cart_id,)))["n"] == 0


def test_the_sweep_purges_expired_idempotency_keys(shopper: Shopper, sql, database_url) -> None:
    key = str(uuid.uuid4())
    shopper.call("POST", "/cart/items", body={"productId": MUG}, headers={"Idempotency-Key": key})
    sql.execute("update idempotency_key set expires_at = now() - interval '1 second' where key = %s", (key,))
    assert _sweep(database_url).idempotency_keys_purged >= 1
    assert one(sql.execute("select count(*) as n from idempotency_key where key = %s", (key,)))["n"] == 0


def test_released_and_completed_checkouts_keep_no_reservation_lines(user: User, make_product, sql) -> None:
    shopper = Shopper(bearer=user.access_token)
    item = shopper.add(make_product(stock=5)["id"], 1).json["items"][0]["id"]
    released = checkout(shopper).json["checkoutId"]
    shopper.update(item, quantity=2)
    completed = checkout(shopper).json["checkoutId"]
    carts.complete_checkout(uuid.UUID(completed))
    left = one(
        sql.execute("select count(*) as n from reservation where checkout_id in (%s, %s)", (released, completed))
    )["n"]
    assert left == 0
