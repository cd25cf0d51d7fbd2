"""``POST /cart/prices/accept`` (issue 22): a shopper takes the current prices of the lines whose price
changed since they were added, on the server, so checkout proceeds and no reload or other device asks
again. A change like every other: If-Match, Idempotency-Key, one round trip, the operations log, an
open checkout released; another owner's line is 404. On real PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
from psycopg.rows import DictRow

from local.bus import LocalBus
from tests.conftest import Lines, Reply, Shopper, User, one
from tests.integration.test_cart_api import assert_problem
from tests.integration.test_completion import published
from tests.integration.test_database import round_trips

ROUTE = ("POST", "/cart/prices/accept")


def accept(shopper: Shopper, body: Any = None, **headers: str) -> Reply:
    return shopper.call(*ROUTE, body=body if body is not None else {}, headers=headers)


def shown(*lines: tuple[str, int]) -> dict[str, Any]:
    """The body that accepts ``lines`` at the price the shopper was shown: (itemId, unitPrice)."""
    return {"items": [{"itemId": item, "unitPrice": price} for item, price in lines]}


def reprice(sql: psycopg.Connection[DictRow], product: dict[str, Any], price: int) -> None:
    sql.execute("update product set price = %s where id = %s", (price, product["id"]))


def line_of(cart: dict[str, Any], product: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in cart["items"] if item["productId"] == product["id"])


def price_issues(shopper: Shopper) -> list[tuple[int, int]]:
    issues = shopper.call("POST", "/cart/validate").json["issues"]
    return sorted((i["previousPrice"], i["currentPrice"]) for i in issues if i["type"] == "price_changed")


# --- what it accepts ------------------------------------------------------------------------------


def test_given_a_price_rise_when_accepted_then_checkout_proceeds_and_another_device_is_not_asked_again(
    user: User, make_product, sql
) -> None:
    lamp = make_product(price=1000)
    phone = Shopper(bearer=user.access_token)
    phone.add(lamp["id"], 2)
    reprice(sql, lamp, 1250)
    refused = assert_problem(phone.call("POST", "/cart/checkout", body={}), 409, "checkout_blocked")
    (issue,) = refused["issues"]
    assert (issue["type"], issue["previousPrice"], issue["currentPrice"]) == ("price_changed", 1000, 1250)
    before = phone.get().json
    assert line_of(before, lamp)["priceChanged"] is True and line_of(before, lamp)["priceDrop"] is False

    reply = accept(phone)

    assert reply.status == 200, reply
    line = line_of(reply.json, lamp)
    assert (line["priceAtAdd"], line["unitPrice"], line["priceChanged"]) == (1250, 1250, False)
    assert reply.json["version"] == before["version"] + 1 and reply.headers["ETag"] == f'"{reply.json["version"]}"'
    assert reply.json["subtotal"] == 2500
    laptop = Shopper(bearer=user.access_token)  # the same shopper elsewhere: the acceptance is the cart's
    assert line_of(laptop.get().json, lamp)["priceChanged"] is False and price_issues(laptop) == []
    opened = laptop.call("POST", "/cart/checkout", body={})  # acceptPriceChanges not needed any more
    assert opened.status == 200, opened
    assert line_of(opened.json["cart"], lamp)["priceAtAdd"] == 1250


def test_given_a_price_drop_when_accepted_then_the_line_keeps_the_lower_price_and_is_no_longer_flagged(
    shopper: Shopper, make_product, sql
) -> None:
    mug = make_product(price=900)
    shopper.add(mug["id"])
    reprice(sql, mug, 700)
    assert line_of(shopper.get().json, mug)["priceDrop"] is True
    assert price_issues(shopper) == [(900, 700)]

    reply = accept(shopper, shown((line_of(shopper.get().json, mug)["id"], 700)))

    assert reply.status == 200, reply
    line = line_of(reply.json, mug)
    assert (line["priceAtAdd"], line["priceChanged"], line["priceDrop"]) == (700, False, False)
    assert price_issues(shopper) == []


def test_given_two_changed_lines_when_one_is_listed_then_only_that_one_is_accepted(
    shopper: Shopper, make_product, sql
) -> None:
    lamp, shade = make_product(price=1000), make_product(price=500)
    shopper.add(lamp["id"])
    shopper.add(shade["id"])
    reprice(sql, lamp, 1100)
    reprice(sql, shade, 400)
    cart = shopper.get().json

    reply = accept(shopper, shown((line_of(cart, lamp)["id"], 1100)))

    assert reply.status == 200, reply
    assert line_of(reply.json, lamp)["priceChanged"] is False
    assert line_of(reply.json, shade)["priceChanged"] is True and line_of(reply.json, shade)["priceAtAdd"] == 500
    assert price_issues(shopper) == [(500, 400)]


def test_given_nothing_changed_when_accepted_then_no_price_moves_but_the_version_does_like_every_change(
    shopper: Shopper, make_product, sql
) -> None:
    """The decision (docs/api.md): a change route's answer is a new version whether or not a value
    differs (as a PATCH to the same quantity or a DELETE of an empty cart), so a client never has to
    guess whether its If-Match is still current; the storefront sends an accept only for a change it
    shows, and GET /cart is the read."""
    mug = make_product(price=900)
    before = shopper.add(mug["id"]).json
    reply = accept(shopper)
    assert reply.status == 200, reply
    assert line_of(reply.json, mug)["priceAtAdd"] == 900 and line_of(reply.json, mug)["priceChanged"] is False
    assert reply.json["version"] == before["version"] + 1
    assert reply.json["items"] == [{**before["items"][0]}]


# --- what it refuses ------------------------------------------------------------------------------


def test_given_a_price_that_moved_again_since_it_was_shown_when_accepted_then_nothing_is_and_the_cart_says_why(
    shopper: Shopper, make_product, sql
) -> None:
    lamp, shade = make_product(price=1000), make_product(price=500)
    shopper.add(lamp["id"])
    shopper.add(shade["id"])
    reprice(sql, lamp, 1200)
    reprice(sql, shade, 450)
    cart = shopper.get().json  # what the shopper is shown: 1200 and 450
    reprice(sql, lamp, 1400)  # and then the lamp moves again

    problem = assert_problem(
        accept(shopper, shown((line_of(cart, lamp)["id"], 1200), (line_of(cart, shade)["id"], 450))),
        409, "price_changed",
    )  # fmt: skip

    assert problem["count"] == 1
    assert problem["lines"] == [{"itemId": line_of(cart, lamp)["id"], "shownPrice": 1200, "unitPrice": 1400}]
    assert line_of(problem["cart"], lamp)["unitPrice"] == 1400  # the cart to show instead
    after = shopper.get().json
    assert after["version"] == cart["version"] == problem["cart"]["version"]  # nothing was written
    assert (line_of(after, lamp)["priceAtAdd"], line_of(after, shade)["priceAtAdd"]) == (1000, 500)


def test_a_stale_if_match_accepts_nothing_and_a_current_one_accepts(shopper: Shopper, make_product, sql) -> None:
    lamp = make_product(price=1000)
    version = shopper.add(lamp["id"]).json["version"]
    reprice(sql, lamp, 1100)
    problem = assert_problem(accept(shopper, **{"If-Match": f'"{version - 1}"'}), 409, "version_conflict")
    assert problem["currentVersion"] == version and line_of(problem["cart"], lamp)["priceChanged"] is True
    reply = accept(shopper, **{"If-Match": f'"{version}"'})
    assert reply.status == 200 and line_of(reply.json, lamp)["priceAtAdd"] == 1100


def test_another_owners_line_is_not_found_and_their_cart_is_untouched(make_product, sql) -> None:
    victim, stranger = Shopper(), Shopper()
    lamp = make_product(price=1000)
    victims_line = victim.add(lamp["id"]).json["items"][0]["id"]
    stranger.add(make_product(price=300)["id"])
    reprice(sql, lamp, 1500)
    before = victim.get().json

    problem = assert_problem(accept(stranger, shown((victims_line, 1500))), 404, "item_not_found")

    assert problem["itemId"] == victims_line and "cart" not in problem
    assert victim.get().json == before  # still at 1000, same version


def test_a_caller_without_a_cart_is_told_there_is_none() -> None:
    visitor = Shopper()
    problem = assert_problem(accept(visitor), 404, "cart_not_found")
    assert problem["detail"] == "You have no cart"
    assert visitor.get().json["id"] is None  # asking created nothing


def test_the_body_is_checked_before_the_database(shopper: Shopper) -> None:
    line = str(uuid.uuid4())
    for body, field in [
        ({"items": []}, "items"),
        ({"items": [{"itemId": line}, {"itemId": line}]}, "items"),
        ({"items": [{"itemId": line, "unitPrice": -1}]}, "items.unitPrice"),
        ({"items": [{"itemId": line, "unitPrice": "12"}]}, "items.unitPrice"),
        ({"everything": True}, "everything"),
    ]:
        problem = assert_problem(accept(shopper, body), 422, "validation_failed")
        assert field in [error["field"] for error in problem["errors"]], (body, problem)
    no_body = Shopper().call(*ROUTE)  # no body at all: every changed line (and here, no cart)
    assert_problem(no_body, 404, "cart_not_found")


# --- a change like every other -----------------------------------------------------------------------


def test_one_round_trip_and_an_operations_log_line_between_the_versions(
    shopper: Shopper, make_product, sql, logged: Lines
) -> None:
    lamp = make_product(price=1000)
    before = shopper.add(lamp["id"]).json["version"]
    reprice(sql, lamp, 1100)
    logged.clear()
    assert round_trips(lambda: accept(shopper)) == 1
    line = logged.operation()
    assert (line["operation"], line["route"], line["status"], line["outcome"]) == (
        "accept_prices", "POST /cart/prices/accept", 200, "ok",
    )  # fmt: skip
    assert (line["version_before"], line["version_after"]) == (before, before + 1)


def test_a_replayed_idempotency_key_answers_the_first_response_and_accepts_once(
    shopper: Shopper, make_product, sql
) -> None:
    lamp = make_product(price=1000)
    shopper.add(lamp["id"])
    reprice(sql, lamp, 1100)
    key = f"accept-{uuid.uuid4()}"
    first = accept(shopper, {}, **{"Idempotency-Key": key})
    reprice(sql, lamp, 1300)  # the answer was lost; the client retries after the price moved again
    again = accept(shopper, {}, **{"Idempotency-Key": key})
    assert first.status == again.status == 200
    assert again.json == first.json and again.headers["ETag"] == first.headers["ETag"]
    now = shopper.get().json
    assert now["version"] == first.json["version"]  # accepted once
    assert line_of(now, lamp)["priceAtAdd"] == 1100 and line_of(now, lamp)["priceChanged"] is True
    reused = accept(shopper, shown((line_of(now, lamp)["id"], 1300)), **{"Idempotency-Key": key})
    assert_problem(reused, 422, "idempotency_key_reused")


def test_accepting_releases_the_open_checkout_that_held_the_old_price(
    user: User, make_product, sql, event_bus: LocalBus
) -> None:
    lamp = make_product(price=1000, stock=5)
    shopper = Shopper(bearer=user.access_token)
    shopper.add(lamp["id"], 2)
    opened = shopper.call("POST", "/cart/checkout", body={}).json["checkoutId"]
    reprice(sql, lamp, 1200)  # while the shopper pays, a sale ends
    assert accept(shopper).status == 200
    assert [r["reason"] for r in published(event_bus, "CheckoutReleased", checkoutId=opened)] == ["cart_changed"]
    held = one(sql.execute("select count(*) as n from reservation where checkout_id = %s", (opened,)))["n"]
    assert held == 0
    again = shopper.call("POST", "/cart/checkout", body={})
    assert again.status == 200 and line_of(again.json["cart"], lamp)["priceAtAdd"] == 1200
    (started,) = published(event_bus, "CheckoutStarted", checkoutId=again.json["checkoutId"])
    assert started["lines"][0]["unitPrice"] == 1200  # what the order service charges


def test_a_price_change_committed_while_the_accept_waits_for_the_cart_is_the_one_it_sees(
    shopper: Shopper, make_product, sql, database_url: str
) -> None:
    """The accept locks the cart first and reads prices after: a price written meanwhile is never
    accepted unseen. Listed at the price the shopper was shown, the accept is refused; without one,
    the line takes the newest price, never the one before it."""
    lamp = make_product(price=1000)
    cart = shopper.add(lamp["id"]).json
    item = cart["items"][0]["id"]
    reprice(sql, lamp, 1100)  # shown to the shopper

    def racing(body: dict[str, Any]) -> Reply:
        answers: list[Reply] = []
        with psycopg.connect(database_url) as holder:
            holder.execute("select id from cart where id = %s for update", (cart["id"],))
            thread = threading.Thread(target=lambda: answers.append(accept(shopper, body)), name="accept")
            thread.start()
            deadline = time.monotonic() + 10
            while not one(
                sql.execute(
                    "select count(*) as n from pg_stat_activity where %s = any(pg_blocking_pids(pid))",
                    (holder.info.backend_pid,),
                )
            )["n"]:
                assert time.monotonic() < deadline, "the accept never waited for the cart"
                time.sleep(0.01)
            reprice(sql, lamp, 1150 + len(body.get("items", [])))  # committed while the accept waits
            holder.rollback()
        thread.join(10)
        assert not thread.is_alive()
        return answers[0]

    refused = assert_problem(racing(shown((item, 1100))), 409, "price_changed")
    assert refused["lines"] == [{"itemId": item, "shownPrice": 1100, "unitPrice": 1151}]
    assert line_of(shopper.get().json, lamp)["priceAtAdd"] == 1000
    took = racing({})
    assert took.status == 200 and line_of(took.json, lamp)["priceAtAdd"] == 1150
