"""One definition of available stock (issue 20): stock less what other shoppers' open, unexpired
checkouts hold. With other shoppers' reservations arranged (open, expired and released checkouts,
of the same product or variant and of its siblings), the cart view, an add, validate and checkout
agree on what is available for the line, through the Lambda handlers on real PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from psycopg.rows import DictRow

from cart_common.config import get_settings
from tests.conftest import Shopper, User, one

MAX_LINE = 99


@dataclass(frozen=True)
class Hold:
    """Another shopper's checkout holding ``quantity`` of the line's product+variant (``sibling``:
    of another variant, or of the product itself when the line is a variant's)."""

    quantity: int
    state: str  # open (counts), expired, released (neither counts)
    sibling: bool = False


holds = st.lists(
    st.builds(
        Hold,
        quantity=st.integers(1, 6),
        state=st.sampled_from(["open", "open", "expired", "released"]),
        sibling=st.booleans(),
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def catalog_sql(database_url: str) -> Iterator[psycopg.Connection[DictRow]]:
    with psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        yield conn


@pytest.fixture(scope="module")
def buyer(cognito) -> Iterator[User]:
    """One signed-in user for every example (its cart is emptied before each), rate limits off: an
    example makes a few changes and a checkout, and forty of them fit no default bucket."""
    saved = os.environ.get("RATE_LIMITS_ENABLED")
    os.environ["RATE_LIMITS_ENABLED"] = "false"
    get_settings.cache_clear()
    email, password = f"avail-{uuid.uuid4().hex[:10]}@example.com", "Correct-horse-9"
    sub = cognito.sign_up(email, password)
    yield User(email, password, sub, cognito.sign_in(email, password))
    if saved is None:
        os.environ.pop("RATE_LIMITS_ENABLED", None)
    else:
        os.environ["RATE_LIMITS_ENABLED"] = saved
    get_settings.cache_clear()


def arrange(
    sql: psycopg.Connection[DictRow], stock: int, variant: bool, others: list[Hold], buyer: User, quantity: int
) -> tuple[str, str | None]:
    """A product of this example's own (with two variants when ``variant``), the other shoppers'
    checkouts, and the buyer's cart holding one line of ``quantity`` (set directly, so it may be
    above what is available)."""
    slug = f"avail-{uuid.uuid4().hex[:10]}"
    product = one(
        sql.execute(
            "insert into product (name, slug, price, currency, stock) values (%s, %s, 500, 'USD', %s) returning id::text",
            (slug, slug, stock if not variant else 7),
        )
    )["id"]
    variant_id = sibling_id = None
    if variant:
        variant_id, sibling_id = (
            one(
                sql.execute(
                    "insert into product_variant (product_id, sku, attributes, stock) values (%s, %s, %s, %s)"
                    " returning id::text",
                    (product, f"{slug}-{i}", json.dumps({"n": i}), s),
                )
            )["id"]
            for i, s in ((0, stock), (1, 7))
        )
    for hold in others:
        if hold.sibling and not variant:
            continue  # a product without variants has no sibling to hold
        cart = one(
            sql.execute(
                "insert into cart (user_id, currency) values (%s, 'USD') returning id", (f"other-{uuid.uuid4().hex}",)
            )
        )["id"]
        expires = "now() - interval '1 minute'" if hold.state == "expired" else "now() + interval '15 minutes'"
        status = "released" if hold.state == "released" else "open"
        checkout = one(
            sql.execute(
                f"insert into checkout (cart_id, status, expires_at) values (%s, %s, {expires}) returning id",
                (cart, status),
            )
        )["id"]
        held_variant = sibling_id if hold.sibling else variant_id
        sql.execute(
            "insert into reservation (checkout_id, product_id, variant_id, quantity) values (%s, %s, %s, %s)",
            (checkout, product, held_variant, hold.quantity),
        )
    sql.execute("delete from cart where user_id = %s", (buyer.sub,))
    cart = one(sql.execute("insert into cart (user_id, currency) values (%s, 'USD') returning id", (buyer.sub,)))["id"]
    sql.execute(
        "insert into cart_item (cart_id, product_id, variant_id, quantity, price_at_add) values (%s, %s, %s, %s, 500)",
        (cart, product, variant_id, quantity),
    )
    return product, variant_id


@pytest.mark.timeout(180)
@settings(max_examples=30, deadline=None)
@given(
    stock=st.integers(0, 12),
    variant=st.booleans(),
    others=holds,
    quantity=st.integers(1, 12),
)
def test_view_add_validate_and_checkout_agree_on_what_is_available_for_every_line(
    catalog_sql, buyer: User, stock: int, variant: bool, others: list[Hold], quantity: int
) -> None:
    product, variant_id = arrange(catalog_sql, stock, variant, others, buyer, quantity)
    held = sum(h.quantity for h in others if h.state == "open" and not h.sibling)
    available = max(0, stock - held)  # the definition, independently of the statements
    note(f"stock {stock}, held by others {held}, available {available}, in the cart {quantity}")
    shopper = Shopper(bearer=buyer.access_token)

    # the cart view
    (line,) = shopper.get().json["items"]
    assert line["maxQuantity"] == min(MAX_LINE, available)
    assert line["available"] == (quantity <= available)

    # validate
    reply = shopper.call("POST", "/cart/validate")
    issues = {issue["type"]: issue for issue in reply.json["issues"]}
    if available == 0:
        assert issues["out_of_stock"]["currentStock"] == 0
    elif quantity > available:
        assert issues["insufficient_stock"]["currentStock"] == available
    else:
        assert not issues.keys() & {"out_of_stock", "insufficient_stock"} and reply.json["valid"]

    # checkout
    reply = shopper.call("POST", "/cart/checkout")
    if quantity <= available:
        assert reply.status == 200, reply
        assert reply.json["cart"]["items"][0]["available"] is True
    else:
        assert reply.status == 409 and reply.json["code"] == "checkout_blocked"
        (issue,) = reply.json["issues"]
        assert issue["currentStock"] == available

    # an add of one more (the cart's own reservation, if checkout made one, does not count against it)
    reply = shopper.add(product, 1, variant_id)
    if quantity + 1 <= available:
        assert reply.status == 200, reply
        assert reply.json["items"][0]["maxQuantity"] == min(MAX_LINE, available)
    else:
        assert reply.status == 409 and reply.json["code"] == "insufficient_stock", reply
        assert reply.json["maxAvailable"] == available and reply.json["inCart"] == quantity

    # and setting the quantity to what is available is accepted, one more refused with the same figure
    item_id = line["id"]
    if available > 0:
        assert shopper.update(item_id, quantity=min(available, MAX_LINE)).status == 200
    refused = shopper.update(item_id, quantity=available + 1)
    if available + 1 <= MAX_LINE:
        assert refused.status == 409 and refused.json["maxAvailable"] == available, refused


def test_a_cart_not_created_yet_sees_every_open_checkout_as_anothers(make_product, sql) -> None:
    """The first add of a new guest (its cart created in the same round trip) counts every open
    reservation: held_by_others is null-safe (``<>`` against no cart counted none)."""
    product = make_product(stock=3)
    cart = one(
        sql.execute(
            "insert into cart (user_id, currency) values (%s, 'USD') returning id", (f"other-{uuid.uuid4().hex}",)
        )
    )
    checkout = one(
        sql.execute(
            "insert into checkout (cart_id, expires_at) values (%s, now() + interval '15 minutes') returning id",
            (cart["id"],),
        )
    )
    sql.execute(
        "insert into reservation (checkout_id, product_id, quantity) values (%s, %s, 2)",
        (checkout["id"], product["id"]),
    )
    reply = Shopper().add(product["id"], 2)
    assert reply.status == 409 and reply.json["maxAvailable"] == 1
    assert (fresh := Shopper()).add(product["id"], 1).status == 200
    assert fresh.get().json["items"][0]["maxQuantity"] == 1
