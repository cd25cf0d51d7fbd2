"""Lists (issue 23, item 1; docs/lists.md): a shopper's Wishlist and named lists, moving lines between
the cart and a list, saving a cart as a list and restoring it, through the Lambda handlers on real
PostgreSQL: each route, its hostile cases (another owner's list or item, the limits), idempotent
replays, races, the lists a guest carries over at sign-in, and a property test that a list -> cart ->
list round trip loses nothing."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from cart_common import store
from cart_common.config import get_settings
from cart_common.db import Database
from cart_common.errors import ListItemNotFound
from cart_common.session import Owner, hash_token
from cart_common.store import lists as lists_store
from tests.conftest import (
    MUG,
    POSTER,
    RETIRED_CAP,
    TSHIRT,
    TSHIRT_M_RED,
    TSHIRT_S_RED,
    Reply,
    Shopper,
    User,
    one,
    own_products,
)
from tests.integration.test_cart_api import assert_problem
from tests.integration.test_database import round_trips
from tests.integration.test_signin import invoke_trigger, post_authentication_event

TIMEOUT_S = 60


# --- the routes, as a storefront calls them ------------------------------------------------------------


def lists_of(shopper: Shopper) -> list[dict[str, Any]]:
    reply = shopper.call("GET", "/lists")
    assert reply.status == 200, reply
    return reply.json["lists"]


def create(shopper: Shopper, name: str, **kwargs: Any) -> Reply:
    return shopper.call("POST", "/lists", body={"name": name}, **kwargs)


def read(shopper: Shopper, list_id: str) -> Reply:
    return shopper.call("GET", "/lists/{listId}", path_params={"listId": list_id})


def add_to(shopper: Shopper, list_id: str, product_id: str, quantity: int = 1, **extra: Any) -> Reply:
    body = {"productId": product_id, "quantity": quantity, **extra}
    return shopper.call("POST", "/lists/{listId}/items", path_params={"listId": list_id}, body=body)


def remove_from(shopper: Shopper, list_id: str, item_id: str, **kwargs: Any) -> Reply:
    path = {"listId": list_id, "listItemId": item_id}
    return shopper.call("DELETE", "/lists/{listId}/items/{listItemId}", path_params=path, **kwargs)


def to_list(shopper: Shopper, item_id: str, list_id: str | None = None, **kwargs: Any) -> Reply:
    body = {"listId": list_id} if list_id else {}
    return shopper.call(
        "POST", "/cart/items/{itemId}/move-to-list", path_params={"itemId": item_id}, body=body, **kwargs
    )


def to_cart(shopper: Shopper, list_id: str, item_id: str, **kwargs: Any) -> Reply:
    path = {"listId": list_id, "listItemId": item_id}
    return shopper.call("POST", "/lists/{listId}/items/{listItemId}/move-to-cart", path_params=path, **kwargs)


def restore(shopper: Shopper, list_id: str, **kwargs: Any) -> Reply:
    return shopper.call("POST", "/lists/{listId}/restore", path_params={"listId": list_id}, **kwargs)


def save_cart_as(shopper: Shopper, name: str, **kwargs: Any) -> Reply:
    return shopper.call("POST", "/cart/save-as-list", body={"name": name}, **kwargs)


def line_of(cart: dict[str, Any], product_id: str) -> dict[str, Any]:
    return next(i for i in cart["items"] if i["productId"] == product_id)


def held(container: dict[str, Any]) -> dict[tuple[str, str | None], tuple[int, dict[str, Any]]]:
    """A cart's lines or a list's items: (product, variant) -> (quantity, attributes)."""
    return {(i["productId"], i["variantId"]): (i["quantity"], i["attributes"]) for i in container["items"]}


def with_key(key: str | None = None) -> dict[str, Any]:
    return {"headers": {"Idempotency-Key": key or f"k-{uuid.uuid4()}"}}


def if_match(version: int) -> dict[str, Any]:
    return {"headers": {"If-Match": f'"{version}"'}}


# --- moving a line to the Wishlist and back -------------------------------------------------------------


def test_moving_a_cart_line_to_the_wishlist_makes_the_default_list_with_the_line_as_it_was(shopper: Shopper) -> None:
    # Given a cart with a gift-noted T-shirt and a mug, and no list yet
    shopper.add(MUG, 2)
    cart = shopper.add(TSHIRT, 3, variant_id=TSHIRT_M_RED, attributes={"gift": "For Ann"}).json
    assert lists_of(shopper) == []
    # When the T-shirt moves to the Wishlist (no listId)
    reply = to_list(shopper, line_of(cart, TSHIRT)["id"])
    # Then the cart lost the line (one new version) and a default "Wishlist" holds it, attributes and all
    assert reply.status == 200, reply
    assert reply.headers["ETag"] == f'"{cart["version"] + 1}"'  # a /cart route: the cart's version
    after, wishlist = reply.json["cart"], reply.json["list"]
    assert [i["productId"] for i in after["items"]] == [MUG] and after["version"] == cart["version"] + 1
    assert (wishlist["name"], wishlist["isDefault"], wishlist["version"], wishlist["itemCount"]) == (
        "Wishlist",
        True,
        1,
        1,
    )
    (item,) = wishlist["items"]
    assert (item["productId"], item["variantId"], item["quantity"]) == (TSHIRT, TSHIRT_M_RED, 3)
    assert item["attributes"] == {"gift": "For Ann", "size": "M", "colour": "red"}
    assert item["priceAtSave"] == item["unitPrice"] == 1999 and item["priceChange"] == 0 and item["currency"] == "USD"
    assert (item["available"], item["backInStock"]) == (True, False)
    assert [(s["id"], s["isDefault"], s["itemCount"]) for s in lists_of(shopper)] == [(wishlist["id"], True, 1)]
    assert read(shopper, wishlist["id"]).json == wishlist


def test_the_same_product_moved_again_folds_into_its_item_and_raises_the_list_version(shopper: Shopper) -> None:
    first = to_list(shopper, shopper.add(MUG, 2).json["items"][0]["id"]).json["list"]
    again = to_list(shopper, shopper.add(MUG, 1).json["items"][0]["id"]).json["list"]
    assert again["id"] == first["id"] and again["version"] == first["version"] + 1
    assert held(again) == {(MUG, None): (3, {})}


def test_a_list_item_moved_to_the_cart_comes_back_as_an_add_and_leaves_the_list(shopper: Shopper) -> None:
    cart = shopper.add(TSHIRT, 2, variant_id=TSHIRT_S_RED, attributes={"engraving": "A"}).json
    wishlist = to_list(shopper, cart["items"][0]["id"]).json["list"]
    shopper.add(TSHIRT, 1, variant_id=TSHIRT_S_RED)  # meanwhile the shopper adds one again
    reply = to_cart(shopper, wishlist["id"], wishlist["items"][0]["id"])
    assert reply.status == 200, reply
    assert reply.headers["ETag"] == f'"{wishlist["version"] + 1}"'  # a /lists route: the list's version
    assert held(reply.json["cart"]) == {(TSHIRT, TSHIRT_S_RED): (3, {"engraving": "A", "size": "S", "colour": "red"})}
    assert reply.json["list"]["items"] == [] and reply.json["list"]["version"] == wishlist["version"] + 1


def test_a_list_item_the_cart_refuses_stays_in_the_list_and_nothing_changes(
    shopper: Shopper, make_product, sql
) -> None:
    product = make_product(stock=5)
    wishlist = to_list(shopper, shopper.add(product["id"], 4).json["items"][0]["id"]).json["list"]
    sql.execute("update product set stock = 2 where id = %s", (product["id"],))
    before = shopper.get().json
    reply = to_cart(shopper, wishlist["id"], wishlist["items"][0]["id"])
    problem = assert_problem(reply, 409, "insufficient_stock")
    assert problem["maxAvailable"] == 2
    assert shopper.get().json == before
    kept = read(shopper, wishlist["id"]).json  # the item and the list's version as they were (stock is 2 now)
    assert (kept["version"], held(kept), kept["items"][0]["availableStock"]) == (wishlist["version"], held(wishlist), 2)


def test_a_new_visitor_moving_a_list_item_into_a_first_cart_gets_one(shopper: Shopper, sql) -> None:
    """A list of a guest who has no cart (cleared away): the move makes the cart, as a first add does."""
    wishlist = create(shopper, "Later").json
    add_to(shopper, wishlist["id"], MUG, 2)
    sql.execute("delete from cart where session_id = %s", (hash_token(shopper.session_token),))
    item = read(shopper, wishlist["id"]).json["items"][0]
    reply = to_cart(shopper, wishlist["id"], item["id"])
    assert reply.status == 200, reply
    assert held(reply.json["cart"]) == {(MUG, None): (2, {})} and reply.json["cart"]["version"] == 1


# --- creating, renaming, deleting, adding and removing ---------------------------------------------------


def test_a_list_is_created_renamed_and_deleted_with_its_version_as_etag(shopper: Shopper) -> None:
    made = create(shopper, "  Birthday  ")
    assert made.status == 201, made
    listed = made.json
    assert (listed["name"], listed["isDefault"], listed["version"], listed["items"]) == ("Birthday", False, 1, [])
    assert made.headers["ETag"] == '"1"'
    renamed = shopper.call("PATCH", "/lists/{listId}", path_params={"listId": listed["id"]}, body={"name": "Party"},
                           **if_match(1))  # fmt: skip
    assert renamed.status == 200 and renamed.json["name"] == "Party" and renamed.json["version"] == 2, renamed
    assert renamed.headers["ETag"] == '"2"'
    stale = shopper.call("PATCH", "/lists/{listId}", path_params={"listId": listed["id"]}, body={"name": "X"},
                         **if_match(1))  # fmt: skip
    assert assert_problem(stale, 409, "list_changed")["currentVersion"] == 2
    assert read(shopper, listed["id"]).json["name"] == "Party"
    stale_delete = shopper.call("DELETE", "/lists/{listId}", path_params={"listId": listed["id"]}, **if_match(1))
    assert_problem(stale_delete, 409, "list_changed")
    gone = shopper.call("DELETE", "/lists/{listId}", path_params={"listId": listed["id"]}, **if_match(2))
    assert gone.status == 200 and gone.json["lists"] == [], gone
    assert_problem(read(shopper, listed["id"]), 404, "list_not_found")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "a\x00b"])
def test_a_list_name_must_be_1_to_100_characters_of_text(shopper: Shopper, name: str) -> None:
    assert_problem(create(shopper, name), 422, "validation_failed")


def test_items_are_added_by_the_rules_of_what_a_product_is_and_removed(shopper: Shopper) -> None:
    listed = create(shopper, "Ideas").json
    assert_problem(add_to(shopper, listed["id"], str(uuid.uuid4())), 404, "product_not_found")
    assert_problem(add_to(shopper, listed["id"], RETIRED_CAP), 404, "product_not_found")
    assert_problem(add_to(shopper, listed["id"], TSHIRT), 422, "variant_required")
    conflict = add_to(shopper, listed["id"], TSHIRT, variantId=TSHIRT_M_RED, attributes={"size": "S"})
    assert assert_problem(conflict, 422, "attribute_conflict")["attribute"] == "size"
    assert read(shopper, listed["id"]).json["version"] == 1  # the refusals changed nothing
    added = add_to(shopper, listed["id"], TSHIRT, 2, variantId=TSHIRT_M_RED, attributes={"size": "M", "note": "x"})
    assert added.status == 200 and added.json["version"] == 2, added
    (item,) = added.json["items"]
    assert item["quantity"] == 2 and item["attributes"] == {"note": "x", "size": "M", "colour": "red"}
    folded = add_to(shopper, listed["id"], TSHIRT, 1, variantId=TSHIRT_M_RED).json
    assert held(folded)[(TSHIRT, TSHIRT_M_RED)][0] == 3
    assert_problem(remove_from(shopper, listed["id"], str(uuid.uuid4())), 404, "list_item_not_found")
    removed = remove_from(shopper, listed["id"], item["id"])
    assert removed.status == 200 and removed.json["items"] == [] and removed.json["version"] == 4, removed


def test_a_list_shows_each_items_price_and_stock_now_beside_what_it_had_when_saved(
    shopper: Shopper, make_product, sql
) -> None:
    cheaper, dearer, sold_out = make_product(price=1000), make_product(price=1000), make_product(stock=0)
    listed = create(shopper, "Watch").json
    for product in (cheaper, dearer, sold_out):
        add_to(shopper, listed["id"], product["id"])
    sql.execute("update product set price = 800 where id = %s", (cheaper["id"],))
    sql.execute("update product set price = 1300, stock = 1 where id = %s", (dearer["id"],))
    sql.execute("update product set stock = 7 where id = %s", (sold_out["id"],))
    items = {i["productId"]: i for i in read(shopper, listed["id"]).json["items"]}
    now_cheaper, now_dearer, back = items[cheaper["id"]], items[dearer["id"]], items[sold_out["id"]]
    assert (now_cheaper["priceAtSave"], now_cheaper["unitPrice"], now_cheaper["priceChange"]) == (1000, 800, -200)
    assert (now_dearer["unitPrice"], now_dearer["priceChange"], now_dearer["availableStock"]) == (1300, 300, 1)
    assert (back["stockAtSave"], back["availableStock"], back["backInStock"], back["available"]) == (0, 7, True, True)
    assert now_dearer["stockAtSave"] == 10 and not now_dearer["backInStock"]


# --- a cart saved as a list, and a list restored into the cart -------------------------------------------


def test_the_cart_saved_as_a_list_keeps_the_cart_and_copies_its_lines_in_order(shopper: Shopper) -> None:
    shopper.add(POSTER, 1)
    shopper.add(TSHIRT, 2, variant_id=TSHIRT_M_RED, attributes={"gift": True})
    cart = shopper.add(MUG, 3).json
    reply = save_cart_as(shopper, "Weekly", **if_match(cart["version"]))
    assert reply.status == 201, reply
    saved = reply.json
    assert saved["name"] == "Weekly" and not saved["isDefault"] and reply.headers["ETag"] == '"1"'
    assert [i["productId"] for i in saved["items"]] == [POSTER, TSHIRT, MUG]
    assert held(saved) == held(cart)
    assert shopper.get().json == cart  # the cart is as it was


def test_saving_an_empty_or_stale_cart_is_refused(shopper: Shopper) -> None:
    assert_problem(save_cart_as(shopper, "Nothing"), 409, "cart_empty")
    cart = shopper.add(MUG).json
    stale = save_cart_as(shopper, "Old", **if_match(cart["version"] - 1))
    assert assert_problem(stale, 409, "version_conflict")["currentVersion"] == cart["version"]
    shopper.remove(cart["items"][0]["id"])
    assert_problem(save_cart_as(shopper, "Empty now"), 409, "cart_empty")
    assert lists_of(shopper) == []


def test_a_restore_adds_every_item_as_an_add_and_reports_what_did_not_fit(shopper: Shopper, make_product, sql) -> None:
    scarce, plenty, retired = make_product(stock=10), make_product(stock=10), make_product(stock=10)
    euro, shoes = make_product(currency="EUR"), make_product(stock=10, max_per_order=4)
    shopper.add(plenty["id"], 1)
    for product, quantity in ((scarce, 5), (plenty, 2)):
        shopper.add(product["id"], quantity)
    cart = shopper.get().json
    saved = save_cart_as(shopper, "Basket").json
    add_to(shopper, saved["id"], retired["id"], 1)
    add_to(shopper, saved["id"], euro["id"], 1)
    add_to(shopper, saved["id"], shoes["id"], 4)
    shopper.clear()
    shopper.add(shoes["id"], 2)  # the shoes' max_per_order is 4: 2 more fit
    sql.execute("update product set stock = 3 where id = %s", (scarce["id"],))
    sql.execute("update product set active = false where id = %s", (retired["id"],))
    listed = read(shopper, saved["id"]).json

    reply = restore(shopper, saved["id"], **if_match(listed["version"]))
    assert reply.status == 200, reply
    report = {(line["productId"], line["variantId"]): line for line in reply.json["lines"]}
    assert len(report) == 5 and len(reply.json["lines"]) == 5
    assert {k: (v["requested"], v["added"], v["quantity"], v["reason"]) for k, v in report.items()} == {
        (scarce["id"], None): (5, 3, 3, "insufficient_stock"),
        (plenty["id"], None): (3, 3, 3, None),
        (retired["id"], None): (1, 0, 0, "unavailable"),
        (euro["id"], None): (1, 0, 0, "currency_mismatch"),
        (shoes["id"], None): (4, 2, 4, "max_quantity_per_line"),
    }
    after = reply.json["cart"]
    assert reply.headers["ETag"] == f'"{after["version"]}"'
    assert held(after)[(scarce["id"], None)][0] == 3 and held(after)[(shoes["id"], None)][0] == 4
    assert read(shopper, saved["id"]).json == listed  # the list is kept, as it was
    assert cart["items"]  # (the arrangement had lines)


def test_a_restore_of_a_list_that_changed_since_it_was_read_changes_nothing(shopper: Shopper) -> None:
    listed = create(shopper, "Stale").json
    add_to(shopper, listed["id"], MUG, 1)
    before = shopper.get().json
    assert_problem(restore(shopper, listed["id"], **if_match(listed["version"])), 409, "list_changed")
    assert shopper.get().json == before


# --- the limits ----------------------------------------------------------------------------------------


@pytest.fixture
def small_limits(fresh_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_LISTS", "2")
    monkeypatch.setenv("MAX_LIST_ITEMS", "2")
    monkeypatch.setenv("MAX_QUANTITY_PER_LINE", "5")
    get_settings.cache_clear()


def test_every_list_limit_is_refused_with_list_limit_exceeded_and_changes_nothing(
    small_limits: None, shopper: Shopper
) -> None:
    first = create(shopper, "One").json
    create(shopper, "Two")
    refused = assert_problem(create(shopper, "Three"), 422, "list_limit_exceeded")
    assert (refused["limit"], refused["allowed"]) == ("maxLists", 2)
    # the default Wishlist counts too: none can be made on the first move
    mug = shopper.add(MUG).json["items"][0]["id"]
    assert_problem(to_list(shopper, mug), 422, "list_limit_exceeded")
    assert [i["productId"] for i in shopper.get().json["items"]] == [MUG]  # the line stayed
    # items per list, and the most an item holds
    add_to(shopper, first["id"], MUG, 4)
    add_to(shopper, first["id"], POSTER, 1)
    third = add_to(shopper, first["id"], TSHIRT, 1, variantId=TSHIRT_M_RED)
    assert assert_problem(third, 422, "list_limit_exceeded")["limit"] == "maxListItems"
    over = add_to(shopper, first["id"], MUG, 2)
    refused = assert_problem(over, 422, "list_limit_exceeded")
    assert (refused["limit"], refused["allowed"]) == ("maxQuantityPerItem", 5)
    moved_over = to_list(shopper, mug, first["id"])  # 4 + 1 fits; the list's two items are full for new ones
    assert moved_over.status == 200, moved_over
    assert held(moved_over.json["list"])[(MUG, None)][0] == 5
    # a cart of three lines cannot be saved as a list of two items
    for product in (MUG, POSTER):
        shopper.add(product)
    shopper.add(TSHIRT, 1, variant_id=TSHIRT_M_RED)
    shopper.call("DELETE", "/lists/{listId}", path_params={"listId": first["id"]})
    assert assert_problem(save_cart_as(shopper, "Three lines"), 422, "list_limit_exceeded")["limit"] == "maxListItems"
    assert len(lists_of(shopper)) == 1


# --- another owner's lists ------------------------------------------------------------------------------


def snapshot(sql: psycopg.Connection[DictRow]) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in sql.execute(
        "select l.id, l.version, l.name, l.is_default,"
        " coalesce((select jsonb_agg(jsonb_build_array(i.id, i.quantity) order by i.id) from list_item i"
        "           where i.list_id = l.id), '[]') as items"
        " from shopping_list l order by l.id"
    ).fetchall()]  # fmt: skip


def test_another_shoppers_list_and_items_are_404_and_never_change(
    shopper: Shopper, other_shopper: Shopper, user: User, sql: psycopg.Connection[DictRow]
) -> None:
    # Given a victim (a signed-in user) with a Wishlist item and a named list, and an attacker (a guest)
    victim = Shopper(bearer=user.access_token)
    theirs = to_list(victim, victim.add(MUG, 2).json["items"][0]["id"]).json["list"]
    their_item = theirs["items"][0]["id"]
    attacker = other_shopper
    mine = create(attacker, "Mine").json
    attacker_line = attacker.add(POSTER).json["items"][0]["id"]
    victim.add(POSTER)
    before, cart_before = snapshot(sql), victim.get().json
    ids = {"listId": theirs["id"], "listItemId": their_item}
    # When the attacker tries every route with the victim's ids
    attempts = {
        "read": read(attacker, theirs["id"]),
        "rename": attacker.call("PATCH", "/lists/{listId}", path_params=ids, body={"name": "pwned"}),
        "delete": attacker.call("DELETE", "/lists/{listId}", path_params=ids),
        "add": add_to(attacker, theirs["id"], MUG),
        "remove": remove_from(attacker, theirs["id"], their_item),
        "move to cart": to_cart(attacker, theirs["id"], their_item),
        "restore": restore(attacker, theirs["id"]),
        "share": attacker.call("POST", "/lists/{listId}/share", path_params=ids, body={}),
        "move into it": to_list(attacker, attacker_line, theirs["id"]),
    }
    # Then every answer is 404 list_not_found, with nothing of the victim's in it
    for name, reply in attempts.items():
        problem = assert_problem(reply, 404, "list_not_found")
        assert their_item not in json.dumps(problem) and user.sub not in json.dumps(problem), name
        assert "ETag" not in reply.headers, name
    # the victim's item through the attacker's own list is not found either
    assert_problem(remove_from(attacker, mine["id"], their_item), 404, "list_item_not_found")
    assert_problem(to_cart(attacker, mine["id"], their_item), 404, "list_item_not_found")
    # the victim's cart line moved into the attacker's list: the line is not the attacker's
    assert_problem(to_list(attacker, cart_before["items"][0]["id"], mine["id"]), 404, "item_not_found")
    assert snapshot(sql) == before
    assert [i["quantity"] for i in attacker.get().json["items"]] == [1]  # the attacker's own line stayed
    assert victim.get().json == cart_before


# --- idempotent replays ------------------------------------------------------------------------------------


def test_a_replayed_change_answers_the_first_response_and_changes_once(shopper: Shopper) -> None:
    key = with_key()
    made, again = create(shopper, "Once", **key), create(shopper, "Once", **key)
    assert (made.status, again.status) == (201, 201) and made.json == again.json
    assert [s["name"] for s in lists_of(shopper)] == ["Once"]
    line = shopper.add(MUG, 2).json["items"][0]["id"]
    move_key = with_key()
    moved, moved_again = (
        to_list(shopper, line, made.json["id"], **move_key),
        to_list(shopper, line, made.json["id"], **move_key),
    )
    assert moved.status == moved_again.status == 200 and moved.json == moved_again.json
    assert moved_again.headers["ETag"] == moved.headers["ETag"]
    restore_key = with_key()
    first, second = restore(shopper, made.json["id"], **restore_key), restore(shopper, made.json["id"], **restore_key)
    assert first.json == second.json and held(shopper.get().json) == {(MUG, None): (2, {})}
    reused = create(shopper, "Another body", **key)
    assert_problem(reused, 422, "idempotency_key_reused")


# --- one round trip each --------------------------------------------------------------------------------


def test_every_list_change_is_one_round_trip(shopper: Shopper) -> None:
    listed = create(shopper, "Trips").json
    line = shopper.add(MUG, 2).json["items"][0]["id"]
    shopper.add(POSTER)
    list_id = listed["id"]
    steps: list[tuple[str, Callable[[], Reply]]] = [
        ("create", lambda: create(shopper, "Another")),
        (
            "rename",
            lambda: shopper.call("PATCH", "/lists/{listId}", path_params={"listId": list_id}, body={"name": "R"}),
        ),
        ("add", lambda: add_to(shopper, list_id, TSHIRT, variantId=TSHIRT_M_RED)),
        ("move to list", lambda: to_list(shopper, line, list_id)),
        ("save cart", lambda: save_cart_as(shopper, "Saved")),
        ("restore", lambda: restore(shopper, list_id)),
        ("share", lambda: shopper.call("POST", "/lists/{listId}/share", path_params={"listId": list_id}, body={})),
        ("read", lambda: read(shopper, list_id)),
        ("read all", lambda: shopper.call("GET", "/lists")),
    ]
    for name, step in steps:
        replies: list[Reply] = []
        assert round_trips(partial(lambda run: replies.append(run()), step)) == 1, name
        assert replies[0].status < 300, (name, replies[0])
    item = read(shopper, list_id).json["items"][0]["id"]
    assert round_trips(lambda: to_cart(shopper, list_id, item)) == 1
    assert round_trips(lambda: shopper.call("DELETE", "/lists/{listId}", path_params={"listId": list_id})) == 1


# --- races ---------------------------------------------------------------------------------------------------


def _together(*work: Callable[[], Any]) -> list[Any]:
    """Each ``work`` in its own thread (its own execution environment: its own Database), released
    together; what each returned or raised."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        barrier.wait(timeout=TIMEOUT_S)
        try:
            results[i] = work[i]()
        except Exception as exc:  # compared below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads)
    return results


def _guest() -> Owner:
    return Owner("guest", hash_token(f"race-{uuid.uuid4()}"))


def _bounds() -> lists_store.ListBounds:
    settings = get_settings()
    return lists_store.ListBounds(settings.max_lists, settings.max_list_items, settings.max_quantity_per_line)


def _new_list(owner: Owner) -> UUID:
    list_id = uuid.uuid4()
    Database().run(partial(lists_store.create_list, owner=owner, list_id=list_id, name="Race", ttl_days=1.0,
                           bounds=_bounds()))  # fmt: skip
    return list_id


def _add(owner: Owner, list_id: UUID, product_id: str, quantity: int) -> list[dict[str, Any]]:
    """What POST /lists/{listId}/items runs, on an environment of its own."""
    settings = get_settings()
    add = partial(
        lists_store.add_list_item, change=lists_store.ListChange(owner, list_id, 1.0), product_id=UUID(product_id),
        variant_id=None, quantity=quantity, attributes={}, limits=settings.limits, bounds=_bounds(),
    )  # fmt: skip
    return Database().run(add)


@pytest.mark.timeout(120)
def test_two_adds_to_one_list_at_once_both_count() -> None:
    owner = _guest()
    list_id = _new_list(owner)
    for _ in range(5):
        before = Database().run(partial(lists_store.list_rows, owner=owner, list_id=list_id))
        quantity = next((r["quantity"] for r in before if r["item_id"]), 0)
        results = _together(lambda: _add(owner, list_id, MUG, 2), lambda: _add(owner, list_id, MUG, 3))
        assert not any(isinstance(r, Exception) for r in results), results
        after = Database().run(partial(lists_store.list_rows, owner=owner, list_id=list_id))
        assert [r["quantity"] for r in after] == [quantity + 5]
        assert after[0]["version"] == before[0]["version"] + 2


@pytest.mark.timeout(120)
def test_the_first_two_moves_to_the_wishlist_at_once_make_one_wishlist(database_url: str) -> None:
    settings = get_settings()
    owner = _guest()
    cart = store.Change(owner, settings.guest_cart_ttl_days)
    items = []
    for product in own_products(database_url, "RaceWish", count=2):
        items.append(Database().run(partial(store.add_item, change=cart, product_id=UUID(product), variant_id=None,
                                            quantity=1, attributes={}, limits=settings.limits,
                                            default_currency="USD")).lines[-1]["item_id"])  # fmt: skip

    def move(item_id: UUID) -> Any:
        return Database().run(partial(lists_store.move_to_list, change=cart, item_id=item_id, list_id=None,
                                      list_ttl_days=1.0, limits=settings.limits, bounds=_bounds()))  # fmt: skip

    results = _together(*(partial(move, item) for item in items))
    assert not any(isinstance(r, Exception) for r in results), results
    wishlists = Database().run(partial(lists_store.lists, owner=owner))
    assert [(w["is_default"], w["item_count"]) for w in wishlists] == [(True, 2)]


@pytest.mark.timeout(120)
def test_a_move_to_the_cart_racing_a_removal_of_the_same_item_lets_exactly_one_win() -> None:
    settings = get_settings()
    for _ in range(5):
        owner = _guest()
        list_id = _new_list(owner)
        (row,) = _add(owner, list_id, MUG, 2)
        item_id = row["item_id"]
        change = lists_store.ListChange(owner, list_id, 1.0)
        cart = store.Change(owner, settings.guest_cart_ttl_days)
        move = partial(lists_store.move_to_cart, change=change, list_item_id=item_id, cart=cart,
                       limits=settings.limits, default_currency="USD")  # fmt: skip
        remove = partial(lists_store.remove_list_item, change=change, list_item_id=item_id)
        moved, removed = _together(partial(Database().run, move), partial(Database().run, remove))
        outcomes = sorted(type(r).__name__ for r in (moved, removed))
        assert outcomes in (["ListItemNotFound", "tuple"], ["ListItemNotFound", "list"]), (moved, removed)
        in_cart = sum(r["quantity"] for r in Database().run(partial(store.cart_rows, owner=owner)).lines
                      if r["item_id"])  # fmt: skip
        assert in_cart == (2 if isinstance(removed, ListItemNotFound) else 0)
        listed = Database().run(partial(lists_store.list_rows, owner=owner, list_id=list_id))
        assert [r["item_id"] for r in listed] == [None] and listed[0]["version"] == 3  # made 1, added 2, won 3


# --- the lists a guest carries over at sign-in ------------------------------------------------------------


def test_a_guests_lists_and_links_become_the_users_at_sign_in(user: User, cognito, sql) -> None:
    # Given a user who already has a Wishlist, and a guest with a Wishlist, a named list and a link
    signed_in = Shopper(bearer=user.access_token)
    users_wishlist = to_list(signed_in, signed_in.add(MUG, 1).json["items"][0]["id"]).json["list"]
    guest = Shopper()
    guests_wishlist = to_list(guest, guest.add(MUG, 3).json["items"][0]["id"]).json["list"]
    add_to(guest, guests_wishlist["id"], POSTER, 1)
    named = create(guest, "Gifts").json
    add_to(guest, named["id"], TSHIRT, 1, variantId=TSHIRT_M_RED)
    link = guest.call("POST", "/lists/{listId}/share", path_params={"listId": guests_wishlist["id"]}, body={}).json
    # When the guest signs in (the Cognito trigger, with the guest session)
    event = post_authentication_event(cognito, user, guest.session_token)
    assert invoke_trigger(json.loads(json.dumps(event))) == event
    # Then the Wishlists are one (the larger quantity of an item both hold), the named list is the user's
    after = {s["name"]: s for s in lists_of(signed_in)}
    assert set(after) == {"Wishlist", "Gifts"} and after["Wishlist"]["id"] == users_wishlist["id"]
    assert after["Wishlist"]["isDefault"] and not after["Gifts"]["isDefault"]
    assert held(read(signed_in, users_wishlist["id"]).json) == {(MUG, None): (3, {}), (POSTER, None): (1, {})}
    assert held(read(signed_in, named["id"]).json) == {(TSHIRT, TSHIRT_M_RED): (1, {"size": "M", "colour": "red"})}
    # the guest's link now shows the user's Wishlist and is the user's to revoke
    shown = Shopper().call("GET", "/shared/{token}", path_params={"token": link["token"]})
    assert shown.status == 200 and {i["productId"] for i in shown.json["items"]} == {MUG, POSTER}, shown
    assert [s["shareId"] for s in signed_in.call("GET", "/shares").json["links"]] == [link["shareId"]]
    # nothing is left under the guest session, and a user's lists never expire
    assert one(sql.execute("select count(*) as n from shopping_list where session_id = %s",
                           (hash_token(guest.session_token),)))["n"] == 0  # fmt: skip
    assert one(sql.execute("select count(*) as n from shopping_list where user_id = %s and expires_at is not null",
                           (user.sub,)))["n"] == 0  # fmt: skip
    # and a replay (the lazy path with the same guest session) changes nothing
    versions = {s["id"]: s["version"] for s in lists_of(signed_in)}
    late = Shopper(bearer=user.access_token)
    late.token = guest.session_token
    assert {s["id"]: s["version"] for s in lists_of(late)} == versions


def test_the_lazy_path_carries_the_guests_lists_to_a_user_without_any(make_user) -> None:
    user = make_user()
    guest = Shopper()
    listed = create(guest, "Before sign-in").json
    add_to(guest, listed["id"], MUG, 2)
    late = Shopper(bearer=user.access_token)
    late.token = guest.session_token
    reply = late.call("GET", "/lists")
    assert reply.status == 200 and [s["id"] for s in reply.json["lists"]] == [listed["id"]], reply
    assert any(c.startswith("cart_session=;") for c in reply.cookies)  # the guest session is over
    assert_problem(read(guest, listed["id"]), 404, "list_not_found")  # and no longer the guest's


def test_a_guest_wishlist_too_big_to_fold_comes_over_as_a_list_of_its_own(small_limits: None, make_user) -> None:
    user = make_user()
    signed_in = Shopper(bearer=user.access_token)
    theirs = to_list(signed_in, signed_in.add(MUG).json["items"][0]["id"]).json["list"]
    add_to(signed_in, theirs["id"], POSTER)
    guest = Shopper()
    to_list(guest, guest.add(TSHIRT, 1, variant_id=TSHIRT_M_RED).json["items"][0]["id"])
    signed_in.token = guest.session_token
    assert signed_in.merge().status == 200
    after = lists_of(signed_in)
    assert [(s["name"], s["isDefault"], s["itemCount"]) for s in after] == [
        ("Wishlist", True, 2),
        ("Wishlist", False, 1),
    ]


# --- a list -> cart -> list round trip loses nothing --------------------------------------------------------


@pytest.fixture(scope="module")
def round_trip_products(database_url: str) -> list[tuple[str, str | None]]:
    """Products of this test's own with ample stock: three plain, one with two variants."""
    plain = own_products(database_url, "RoundTrip", count=4)
    with psycopg.connect(database_url, autocommit=True) as conn:
        variants = [
            one(conn.execute("insert into product_variant (product_id, sku, attributes, stock) values (%s, %s, %s, 1000)"
                             " returning id::text", (plain[3], f"RT-{uuid.uuid4().hex[:8]}", json.dumps({"size": size}))))[0]
            for size in ("S", "M")
        ]  # fmt: skip
    return [(p, None) for p in plain[:3]] + [(plain[3], v) for v in variants]


@st.composite
def cart_lines(
    draw: st.DrawFn, products: list[tuple[str, str | None]]
) -> list[tuple[str, str | None, int, dict[str, Any]]]:
    chosen = draw(st.lists(st.sampled_from(products), min_size=1, max_size=5, unique=True))
    lines = []
    for product_id, variant_id in chosen:
        quantity = draw(st.integers(min_value=1, max_value=9))
        note = draw(st.one_of(st.none(), st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)))
        lines.append((product_id, variant_id, quantity, {} if note is None else {"note": note}))
    return lines


def test_a_list_to_cart_to_list_round_trip_loses_nothing(round_trip_products: list[tuple[str, str | None]]) -> None:
    @settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(lines=cart_lines(round_trip_products), back_one_by_one=st.booleans())
    def round_trip(lines: list[tuple[str, str | None, int, dict[str, Any]]], back_one_by_one: bool) -> None:
        lose_nothing(lines, back_one_by_one)

    round_trip()


def lose_nothing(lines: list[tuple[str, str | None, int, dict[str, Any]]], back_one_by_one: bool) -> None:
    """A cart of ``lines`` moved line by line to the Wishlist holds the same items; back in the cart
    (moved item by item, or restored) the same lines; saved as a list once more, the same items."""
    shopper = Shopper()
    for product_id, variant_id, quantity, attributes in lines:
        assert shopper.add(product_id, quantity, variant_id=variant_id, attributes=attributes).status == 200
    cart = shopper.get().json
    # the cart into a list (each line moved), then the list back into the cart (moved, or restored)
    listed = None
    for item in cart["items"]:
        listed = to_list(shopper, item["id"]).json["list"]
    assert listed is not None and held(listed) == held(cart)
    if back_one_by_one:
        for item in listed["items"]:
            assert to_cart(shopper, listed["id"], item["id"]).status == 200
    else:
        assert all(line["reason"] is None for line in restore(shopper, listed["id"]).json["lines"])
        for item in read(shopper, listed["id"]).json["items"]:
            remove_from(shopper, listed["id"], item["id"])
    back = shopper.get().json
    assert held(back) == held(cart)
    # and into a list once more: the same items again
    saved = save_cart_as(shopper, "Again").json
    assert held(saved) == held(cart)


# --- every list statement reads by index ------------------------------------------------------------------

LIST_TABLES = {"cart", "cart_item", "shopping_list", "list_item", "share_link"}
_LIMITS = {"max_line": 99, "max_lines": 100, "max_value": 10_000_000, "max_attributes": 20, "max_attribute_bytes": 1024}
_ID = uuid.uuid4()
LIST_STATEMENTS: dict[str, dict[str, Any]] = {
    "touch_list.sql": {"list_id": _ID, "bump": 1, "name": None, "ttl_days": 30, "expected": 2},
    "lists_view.sql": {},
    "list_view.sql": {"list_id": _ID},
    "create_list.sql": {"list_id": _ID, "name": "n", "ttl_days": None, "from_cart": True, "expected": 3,
                        "max_lists": 20, "max_items": 100},
    "add_list_item.sql": {"list_id": _ID, "product_id": uuid.UUID(MUG), "variant_id": None, "quantity": 1,
                          "attributes": Jsonb({}), "max_items": 100, **_LIMITS},
    "move_to_list.sql": {"item_id": _ID, "list_id": None, "default_name": "Wishlist", "ttl_days": 30, "max_lists": 20,
                         "max_items": 100, **_LIMITS},
    "remove_list_item.sql": {"list_id": _ID, "list_item_id": _ID},
    "create_share.sql": {"share_id": _ID, "list_id": None, "expires_at": datetime.now(UTC), "max_links": 20},
    "shares_view.sql": {},
    "add_item.sql": {"product_id": None, "variant_id": None, "quantity": None, "attributes": None, "saved_id": None,
                     "list_id": _ID, "list_item_id": _ID, "is_guest": True, **_LIMITS},
    "sync_cart.sql": {"items": None, "list_id": _ID, "share_id": None, "strategy": "sum", "is_guest": True, **_LIMITS},
}  # fmt: skip
PLAIN_STATEMENTS: dict[str, dict[str, Any]] = {
    "shared_view.sql": {"share_id": _ID},
    "check_share.sql": {"share_id": _ID},
    "merge_lists.sql": {"user": "plan-user", "guest": "x" * 64, "max_items": 100},
    "sync_cart.sql": {"items": None, "list_id": None, "share_id": _ID, "strategy": "sum", "is_guest": True,
                      "owner": "x" * 64, **_LIMITS},
}  # fmt: skip


def _sequential(conn: psycopg.Connection, query: Any, params: dict[str, Any]) -> set[str]:
    from tests.integration.test_query_plans import scanned

    (row,) = conn.execute(psycopg.sql.SQL("explain (format json) ") + query, params).fetchall()
    plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return {relation for node, relation in scanned(plan[0]["Plan"]) if node == "Seq Scan" and relation in LIST_TABLES}


@pytest.mark.parametrize("kind", ["guest", "user"])
def test_every_list_statement_reads_carts_lists_and_links_by_index_only(database_url: str, kind: str) -> None:
    from cart_common.store._compose import composed

    with psycopg.connect(database_url, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute("set enable_seqscan = off")
        for source, params in LIST_STATEMENTS.items():
            query = composed(source, kind)
            assert _sequential(conn, query, {"owner": f"plan-{uuid.uuid4()}", **params}) == set(), (source, kind)
        for source, params in PLAIN_STATEMENTS.items():
            assert _sequential(conn, composed(source, kind), params) == set(), source
