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
    statements = [owned("validate_cart.sql", owner, **limits.params()), *views(owner)]
    readiness, *cart = pipeline(conn, statements, reads_only=True)
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


# Completion locks as every change of a cart does, cart first (then its checkout, then the catalog rows
# of its lines in checkout's global order), so it queues behind a change or a re-checkout of the same
# cart instead of deadlocking with it, and a concurrent duplicate completion waits for the first.
_LOCK_CART_OF_CHECKOUT = """
select c.id from cart c where c.id = (select cart_id from checkout where id = %(checkout_id)s::uuid) for update
"""
_LOCK_CHECKOUT = "select id from checkout where id = %(checkout_id)s::uuid for update"
_LOCK_CHECKOUT_VARIANTS = """
select v.id from product_variant v
where v.id in (select i.variant_id from checkout k join cart_item i on i.cart_id = k.cart_id
               where k.id = %(checkout_id)s::uuid)
order by v.id for update
"""
_LOCK_CHECKOUT_PRODUCTS = """
select p.id from product p
where p.id in (select i.product_id from checkout k join cart_item i on i.cart_id = k.cart_id
               where k.id = %(checkout_id)s::uuid and i.variant_id is null)
order by p.id for update
"""


def complete_checkout(
    conn: psycopg.Connection, checkout_id: UUID, order_id: str | None = None, *, refund: Statement | None = None
) -> Row:
    """One round trip: the locks, then the completion (complete_checkout.sql: its outcome row, and
    the CheckoutCompleted or CheckoutCompletionFailed event), then ``refund`` (the user's checkout
    token given back when this transaction completed it: it was not hoarding)."""
    steps = [_LOCK_CART_OF_CHECKOUT, _LOCK_CHECKOUT, _LOCK_CHECKOUT_VARIANTS, _LOCK_CHECKOUT_PRODUCTS]
    statements = [
        *(plain(step, checkout_id=checkout_id) for step in steps),
        plain("complete_checkout.sql", checkout_id=checkout_id, order_id=order_id),
    ]
    results = pipeline(conn, [*statements, *([refund] if refund else [])])
    (row,) = results[len(steps)]
    return row


# The order service's release (payment failed, order cancelled): the reservation's stock is free at
# once; the trigger of migration 0012 announces CheckoutReleased with the reason. Idempotent.
_RELEASE = """
with k as (select id, status from checkout where id = %(checkout_id)s::uuid),
released as (
    update checkout set status = 'released', release_reason = %(reason)s
    where id = %(checkout_id)s::uuid and status = 'open'
    returning id
),
freed as (delete from reservation r using released where r.checkout_id = released.id)
select case
    when exists (select 1 from released) then 'released'
    when not exists (select 1 from k) then 'not_found'
    when (select status from k) = 'released' then 'already_released'
    else (select status from k)
end as outcome
"""


def release_checkout(
    conn: psycopg.Connection, checkout_id: UUID, reason: str, *, refund: Statement | None = None
) -> Row:
    """One round trip: the release, then ``refund`` (the checkout bucket's token back)."""
    statements = [plain(_RELEASE, checkout_id=checkout_id, reason=reason), *([refund] if refund else [])]
    (row,), *_ = pipeline(conn, statements)
    return row
