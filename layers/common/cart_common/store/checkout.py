"""Checkout: each line's readiness (validate), the stock of every line reserved in one transaction
(reserve), and the reserved stock sold when the order service completes the checkout."""

from __future__ import annotations

from uuid import UUID

import psycopg

from cart_common.config import Limits
from cart_common.db import Statement, pipeline
from cart_common.session import Owner
from cart_common.store._compose import Row, owned, plain
from cart_common.store.cart import CartRows, views

# Checkout steps 1-3: the cart, then the catalog rows its lines draw on, locked in one global order
# (variants, then products, each by id) so that two checkouts racing for the last unit queue up:
# the second sees the first's reservation.
_LOCK_CART = "select id from cart where {owner_col} = %(owner)s and status = 'active' for update"
_LOCK_VARIANTS = """
select v.id from product_variant v
where v.id in (select i.variant_id from cart c join cart_item i on i.cart_id = c.id
               where c.{owner_col} = %(owner)s and c.status = 'active')
order by v.id for update
"""
_LOCK_PRODUCTS = """
select p.id from product p
where p.id in (select i.product_id from cart c join cart_item i on i.cart_id = c.id
               where c.{owner_col} = %(owner)s and c.status = 'active' and i.variant_id is null)
order by p.id for update
"""


def validate_cart(conn: psycopg.Connection, owner: Owner, *, limits: Limits) -> tuple[list[Row], CartRows]:
    """The readiness of every line, and the cart."""
    readiness, *cart = pipeline(conn, [owned("validate_cart.sql", owner, **limits.params()), *views(owner)])
    return readiness, CartRows(*cart)


def reserve_stock(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    limits: Limits,
    minutes: int,
    accept_prices: bool,
    expected: int | None = None,
    hoarding: tuple[Statement, list[Row]] | None = None,
) -> tuple[list[Row], list[Row], CartRows]:
    """One round trip: lock, release the old checkout and check If-Match, (accept prices), reserve,
    (take the ``hoarding`` bucket's token for the checkout opened, its rows into its list); return
    the opened checkout (none when a line is not ready), each line's readiness, and the cart."""
    params = {"minutes": minutes, "expected": expected, **limits.params()}
    steps = [_LOCK_CART, _LOCK_VARIANTS, _LOCK_PRODUCTS, "release_open_checkout.sql"]
    if accept_prices:
        steps.append("accept_current_prices.sql")
    statements: list[Statement] = [
        *(owned(step, owner, **params) for step in steps),
        owned("reserve_stock.sql", owner, **params),
        *([hoarding[0]] if hoarding else []),
        owned("validate_cart.sql", owner, **params),
        *views(owner),
    ]
    results = pipeline(conn, statements)
    opened, *taken, readiness, lines, saved, discounts = results[len(steps) :]
    if hoarding:
        hoarding[1].extend(*taken)
    return opened, readiness, CartRows(lines, saved, discounts)


_LOCK_CHECKOUT = "select id from checkout where id = %(checkout_id)s::uuid for update"
_LOCK_RESERVED_VARIANTS = """
select v.id from product_variant v
where v.id in (select variant_id from reservation where checkout_id = %(checkout_id)s::uuid)
order by v.id for update
"""
_LOCK_RESERVED_PRODUCTS = """
select p.id from product p
where p.id in (select product_id from reservation where checkout_id = %(checkout_id)s::uuid and variant_id is null)
order by p.id for update
"""


def complete_checkout(conn: psycopg.Connection, checkout_id: UUID, *, refund: Statement | None = None) -> Row:
    """The checkout and the catalog rows it draws on locked (in checkout order), then completed
    (and the user's checkout token given back by ``refund``: this one was not hoarding)."""
    steps = [_LOCK_CHECKOUT, _LOCK_RESERVED_VARIANTS, _LOCK_RESERVED_PRODUCTS, "complete_checkout.sql"]
    results = pipeline(conn, [*(plain(step, checkout_id=checkout_id) for step in steps), *([refund] if refund else [])])
    (row,) = results[len(steps) - 1]
    return row
