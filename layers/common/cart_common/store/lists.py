"""A shopper's lists (issue 23, docs/lists.md): every statement about lists and their items, each
change one round trip.

Every change of an owner's lists first takes the owner's lists lock (``lock_lists``, a transaction
advisory lock), so an owner's list changes queue up: the limits they count (lists, items) are exact,
and the default Wishlist made on first use is made once. The lock order, for every statement that
takes more than one: lists lock, list row (``touch_list``), cart owner lock, cart row. A change that
moves a line out of the cart takes the cart row before the list row, but only under the lists lock,
which every writer of a list holds first, so the two orders never meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from cart_common.config import Limits
from cart_common.db import Statement, pipeline
from cart_common.session import Owner
from cart_common.store._compose import Row, owned, plain
from cart_common.store.cart import CartRows, Change, ensure_cart, lock_owner, views

DEFAULT_LIST_NAME = "Wishlist"
_LOCK_LISTS = "select pg_advisory_xact_lock(hashtextextended(%(lock_key)s, 0))"


def lock_lists(owner: Owner) -> Statement:
    return _LOCK_LISTS, {"lock_key": f"lists:{owner.kind}:{owner.key}"}


@dataclass(frozen=True)
class ListChange:
    """What every change of one list carries: whose (``owner``), which (``list_id``), how long a guest's
    list lives from now on (``ttl_days``; None for a user's, which never expires) and the version the
    client holds (``expected``, from If-Match; None: any)."""

    owner: Owner
    list_id: UUID
    ttl_days: float | None
    expected: int | None = None


@dataclass(frozen=True)
class ListBounds:
    """The limits list statements check: lists per owner, items per list, and the most an item holds."""

    max_lists: int
    max_items: int
    max_line: int


def _touch(change: ListChange, *, bump: bool = True, name: str | None = None) -> Statement:
    return owned(
        "touch_list.sql", change.owner,
        list_id=change.list_id, bump=int(bump), name=name, ttl_days=change.ttl_days, expected=change.expected,
    )  # fmt: skip


def _view(owner: Owner, list_id: UUID | None) -> Statement:
    return owned("list_view.sql", owner, list_id=list_id)


def lists(conn: psycopg.Connection, owner: Owner) -> list[Row]:
    return pipeline(conn, [owned("lists_view.sql", owner)], reads_only=True)[0]


def list_rows(conn: psycopg.Connection, owner: Owner, list_id: UUID) -> list[Row]:
    """The list's view rows (none: the owner has no such list)."""
    return pipeline(conn, [_view(owner, list_id)], reads_only=True)[0]


def _list_change(conn: psycopg.Connection, change: ListChange, *steps: Statement, **touch: Any) -> list[Row]:
    """The lists lock, touch_list, ``steps``, and the list as it now is: one round trip."""
    owner = change.owner
    return pipeline(conn, [lock_lists(owner), _touch(change, **touch), *steps, _view(owner, change.list_id)])[-1]


def create_list(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    list_id: UUID,
    name: str,
    ttl_days: float | None,
    bounds: ListBounds,
    from_cart: bool = False,
    expected: int | None = None,
) -> list[Row]:
    """A new list (``from_cart``: holding the cart's lines; ``expected``: the cart's If-Match)."""
    create = owned(
        "create_list.sql", owner,
        list_id=list_id, name=name, ttl_days=ttl_days, from_cart=from_cart, expected=expected,
        max_lists=bounds.max_lists, max_items=bounds.max_items,
    )  # fmt: skip
    return pipeline(conn, [lock_lists(owner), create, _view(owner, list_id)])[-1]


def rename_list(conn: psycopg.Connection, change: ListChange, *, name: str) -> list[Row]:
    return _list_change(conn, change, name=name)


_DELETE_LIST = "delete from shopping_list where id = %(list_id)s::uuid and {owner_col} = %(owner)s"


def delete_list(conn: psycopg.Connection, change: ListChange) -> list[Row]:
    """The list gone (its items and share links with it); the owner's lists as they now are."""
    owner = change.owner
    delete = owned(_DELETE_LIST, owner, list_id=change.list_id)
    return pipeline(conn, [lock_lists(owner), _touch(change), delete, owned("lists_view.sql", owner)])[-1]


def add_list_item(
    conn: psycopg.Connection,
    change: ListChange,
    *,
    product_id: UUID,
    variant_id: UUID | None,
    quantity: int,
    attributes: dict[str, Any],
    limits: Limits,
    bounds: ListBounds,
) -> list[Row]:
    add = owned(
        "add_list_item.sql", change.owner,
        list_id=change.list_id, product_id=product_id, variant_id=variant_id, quantity=quantity,
        attributes=Jsonb(attributes), max_items=bounds.max_items, max_line=bounds.max_line,
        max_attributes=limits.max_attributes, max_attribute_bytes=limits.max_attribute_bytes,
    )  # fmt: skip
    return _list_change(conn, change, add)


def remove_list_item(conn: psycopg.Connection, change: ListChange, *, list_item_id: UUID) -> list[Row]:
    remove = owned("remove_list_item.sql", change.owner, list_id=change.list_id, list_item_id=list_item_id)
    return _list_change(conn, change, remove)


def move_to_list(
    conn: psycopg.Connection,
    change: Change,
    *,
    item_id: UUID,
    list_id: UUID | None,
    list_ttl_days: float | None,
    limits: Limits,
    bounds: ListBounds,
) -> tuple[CartRows, list[Row]]:
    """A cart line to a list (None: the default Wishlist, made on first use): the lists lock, the cart
    row (touch_cart, with the cart's If-Match), the move; the cart and the list as they now are."""
    owner = change.owner
    touch = owned("touch_cart.sql", owner, ttl_days=change.ttl_days, expected=change.expected)
    move = owned(
        "move_to_list.sql", owner,
        item_id=item_id, list_id=list_id, default_name=DEFAULT_LIST_NAME, ttl_days=list_ttl_days,
        max_lists=bounds.max_lists, max_items=bounds.max_items, max_line=bounds.max_line,
        max_attributes=limits.max_attributes, max_attribute_bytes=limits.max_attribute_bytes,
    )  # fmt: skip
    *_, lines, saved, discounts, listed = pipeline(
        conn, [lock_lists(owner), touch, move, *views(owner), _view(owner, list_id)]
    )
    return CartRows(lines, saved, discounts), listed


def move_to_cart(
    conn: psycopg.Connection,
    change: ListChange,
    *,
    list_item_id: UUID,
    cart: Change,
    limits: Limits,
    default_currency: str,
) -> tuple[CartRows, list[Row]]:
    """A list item into the cart by every rule of an add (add_item.sql; refused, it stays in the list):
    the lists lock, the list row (its If-Match), the cart owner lock and row (the cart made for a first
    add), the add; the cart and the list as they now are."""
    owner = change.owner
    add = owned(
        "add_item.sql", owner,
        list_id=change.list_id, list_item_id=list_item_id, saved_id=None, product_id=None, variant_id=None,
        quantity=None, attributes=None, is_guest=owner.kind == "guest", **limits.params(),
    )  # fmt: skip
    *_, lines, saved, discounts, listed = pipeline(
        conn,
        [lock_lists(owner), _touch(change), lock_owner(owner),
         ensure_cart(cart, None, default_currency=default_currency), add, *views(owner), _view(owner, change.list_id)],
    )  # fmt: skip
    return CartRows(lines, saved, discounts), listed


def _sync_in(
    conn: psycopg.Connection,
    cart: Change,
    first: list[Statement],
    *,
    list_id: UUID | None,
    share_id: UUID | None,
    limits: Limits,
    default_currency: str,
) -> tuple[list[Row], CartRows]:
    """``first``, then the cart owner lock and row, then a list's or a share link's lines added by
    POST /cart/sync's statement with strategy ``sum`` (each line what an add would give it, capped and
    reported line by line); the report and the cart."""
    owner = cart.owner
    sync = owned(
        "sync_cart.sql", owner,
        items=None, list_id=list_id, share_id=share_id, strategy="sum", is_guest=owner.kind == "guest",
        **limits.params(),
    )  # fmt: skip
    *_, (row,), lines, saved, discounts = pipeline(
        conn,
        [*first, lock_owner(owner), ensure_cart(cart, None, default_currency=default_currency), sync, *views(owner)],
    )
    return row["conflicts"], CartRows(lines, saved, discounts)


def restore_list(
    conn: psycopg.Connection, change: ListChange, *, cart: Change, limits: Limits, default_currency: str
) -> tuple[list[Row], CartRows]:
    """Every item of the list added to the cart (the list is kept; its If-Match is checked)."""
    return _sync_in(
        conn, cart, [lock_lists(change.owner), _touch(change, bump=False)], list_id=change.list_id, share_id=None,
        limits=limits, default_currency=default_currency,
    )  # fmt: skip


def copy_shared(
    conn: psycopg.Connection, cart: Change, *, share_id: UUID, limits: Limits, default_currency: str
) -> tuple[list[Row], CartRows]:
    """A share link's lines added to the caller's cart (a link gone is share_link_revoked)."""
    check = plain("check_share.sql", share_id=share_id)
    return _sync_in(
        conn, cart, [check], list_id=None, share_id=share_id, limits=limits, default_currency=default_currency
    )
