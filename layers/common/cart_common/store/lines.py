"""A cart's lines: add (and restore a saved item, which is an add), set a quantity, switch a
variant, remove, clear, save for later. Each is one round trip (see the package's docstring)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from cart_common.config import Limits
from cart_common.session import Owner
from cart_common.store._compose import owned
from cart_common.store.cart import CartRows, change, ensure_cart, touched_change


def add_item(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    product_id: UUID,
    variant_id: UUID | None,
    quantity: int,
    attributes: dict[str, Any],
    limits: Limits,
    ttl_days: float,
    default_currency: str,
    expected: int | None = None,
) -> CartRows:
    ensure = ensure_cart(owner, product_id, ttl_days=ttl_days, default_currency=default_currency, expected=expected)
    add = owned(
        "add_item.sql", owner,
        product_id=product_id, variant_id=variant_id, quantity=quantity, attributes=Jsonb(attributes), saved_id=None,
        is_guest=owner.kind == "guest", **limits.params(),
    )  # fmt: skip
    return change(conn, owner, ensure, add, creates=True)


def restore_saved_item(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    saved_id: UUID,
    limits: Limits,
    ttl_days: float,
    expected: int | None = None,
) -> CartRows:
    """The saved item added back by every rule of an add (refused, it stays saved)."""
    return touched_change(
        conn, owner, "add_item.sql", ttl_days=ttl_days, expected=expected,
        saved_id=saved_id, product_id=None, variant_id=None, quantity=None, attributes=None,
        is_guest=owner.kind == "guest", **limits.params(),
    )  # fmt: skip


def set_quantity(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    item_id: UUID,
    quantity: int,
    limits: Limits,
    ttl_days: float,
    expected: int | None = None,
) -> CartRows:
    return touched_change(
        conn, owner, "set_quantity.sql", ttl_days=ttl_days, expected=expected,
        item_id=item_id, quantity=quantity, **limits.params(),
    )  # fmt: skip


def switch_variant(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    item_id: UUID,
    variant_id: UUID,
    quantity: int | None,
    limits: Limits,
    ttl_days: float,
    expected: int | None = None,
) -> CartRows:
    return touched_change(
        conn, owner, "switch_variant.sql", ttl_days=ttl_days, expected=expected,
        item_id=item_id, variant_id=variant_id, quantity=quantity, **limits.params(),
    )  # fmt: skip


_REMOVE_LINE = """
with removed as (
    delete from cart_item i using cart c
    where i.id = %(item_id)s::uuid and i.cart_id = c.id
      and c.{owner_col} = %(owner)s and c.status = 'active'
    returning i.id
)
select case
    when exists (select 1 from removed) then 0
    else raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
end as outcome
"""


def remove_item(
    conn: psycopg.Connection, owner: Owner, *, item_id: UUID, ttl_days: float, expected: int | None = None
) -> CartRows:
    return touched_change(conn, owner, _REMOVE_LINE, ttl_days=ttl_days, expected=expected, item_id=item_id)


_CLEAR_LINES = """
delete from cart_item i using cart c
where i.cart_id = c.id and c.{owner_col} = %(owner)s and c.status = 'active'
"""


def clear_cart(conn: psycopg.Connection, owner: Owner, *, ttl_days: float, expected: int | None = None) -> CartRows:
    return touched_change(conn, owner, _CLEAR_LINES, ttl_days=ttl_days, expected=expected)


def save_item(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    item_id: UUID,
    limits: Limits,
    ttl_days: float,
    expected: int | None = None,
) -> CartRows:
    return touched_change(
        conn, owner, "save_item.sql", ttl_days=ttl_days, expected=expected, item_id=item_id, **limits.params()
    )
