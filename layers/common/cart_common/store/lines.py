"""A cart's lines: add (and restore a saved item, which is an add), set a quantity, switch a
variant, remove, clear, save for later, accept changed prices. Each is one round trip (see the
package's docstring)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from cart_common.config import Limits
from cart_common.store._compose import owned
from cart_common.store.cart import CartRows, Change, ensure_cart, run_change, touched_change


def add_item(
    conn: psycopg.Connection,
    change: Change,
    *,
    product_id: UUID,
    variant_id: UUID | None,
    quantity: int,
    attributes: dict[str, Any],
    limits: Limits,
    default_currency: str,
) -> CartRows:
    owner = change.owner
    add = owned(
        "add_item.sql", owner,
        product_id=product_id, variant_id=variant_id, quantity=quantity, attributes=Jsonb(attributes), saved_id=None,
        list_id=None, list_item_id=None, is_guest=owner.kind == "guest", **limits.params(),
    )  # fmt: skip
    return run_change(
        conn, owner, ensure_cart(change, product_id, default_currency=default_currency), add, creates=True
    )


def restore_saved_item(conn: psycopg.Connection, change: Change, *, saved_id: UUID, limits: Limits) -> CartRows:
    """The saved item added back by every rule of an add (refused, it stays saved)."""
    return touched_change(
        conn, change, "add_item.sql",
        saved_id=saved_id, product_id=None, variant_id=None, quantity=None, attributes=None, list_id=None,
        list_item_id=None, is_guest=change.owner.kind == "guest", **limits.params(),
    )  # fmt: skip


def set_quantity(conn: psycopg.Connection, change: Change, *, item_id: UUID, quantity: int, limits: Limits) -> CartRows:
    return touched_change(conn, change, "set_quantity.sql", item_id=item_id, quantity=quantity, **limits.params())


def switch_variant(
    conn: psycopg.Connection, change: Change, *, item_id: UUID, variant_id: UUID, quantity: int | None, limits: Limits
) -> CartRows:
    return touched_change(
        conn, change, "switch_variant.sql", item_id=item_id, variant_id=variant_id, quantity=quantity, **limits.params()
    )


# A line the shopper removes is written to cart_line_removal in the same statement (the merchant's
# "most removed" products, migration 0018): no round trip of its own, and gone if the change rolls back.
_REMOVE_LINE = """
with removed as (
    delete from cart_item i using cart c
    where i.id = %(item_id)s::uuid and i.cart_id = c.id
      and c.{owner_col} = %(owner)s and c.status = 'active'
    returning i.id, i.product_id, i.variant_id, i.quantity
),
counted as (
    insert into cart_line_removal (product_id, variant_id, quantity)
    select product_id, variant_id, quantity from removed
)
select case
    when exists (select 1 from removed) then 0
    else raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
end as outcome
"""


def remove_item(conn: psycopg.Connection, change: Change, *, item_id: UUID) -> CartRows:
    return touched_change(conn, change, _REMOVE_LINE, item_id=item_id)


_CLEAR_LINES = """
with removed as (
    delete from cart_item i using cart c
    where i.cart_id = c.id and c.{owner_col} = %(owner)s and c.status = 'active'
    returning i.product_id, i.variant_id, i.quantity
)
insert into cart_line_removal (product_id, variant_id, quantity)
select product_id, variant_id, quantity from removed
"""


def clear_cart(conn: psycopg.Connection, change: Change) -> CartRows:
    return touched_change(conn, change, _CLEAR_LINES)


def save_item(conn: psycopg.Connection, change: Change, *, item_id: UUID, limits: Limits) -> CartRows:
    return touched_change(conn, change, "save_item.sql", item_id=item_id, **limits.params())


def accept_prices(conn: psycopg.Connection, change: Change, *, items: list[dict[str, Any]] | None) -> CartRows:
    """Every changed line (or the listed ``items``: ``item_id``, and the ``unit_price`` the shopper
    was shown or None) re-baselined at its current price."""
    return touched_change(conn, change, "accept_prices.sql", items=None if items is None else Jsonb(items))
