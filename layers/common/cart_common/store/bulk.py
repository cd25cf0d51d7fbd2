"""Many line changes in one round trip (POST /cart/items/bulk) and a past order's lines added back
(POST /cart/reorder): both judged by sql/_bulk_apply.sql, every change by the rules of its single
route, and made under the cart's row lock with one version bump."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from cart_common.config import Limits
from cart_common.db import pipeline
from cart_common.store._compose import Row, owned
from cart_common.store.cart import CartRows, Change, ensure_cart, lock_owner, views


def _first_added(changes: list[dict[str, Any]]) -> UUID | None:
    """The product of the first add: a cart this request creates starts in its currency, as with
    a single add (otherwise the default currency, which the statement corrects if it must)."""
    return next((UUID(str(c["product_id"])) for c in changes if c["op"] == "add"), None)


def bulk_change(
    conn: psycopg.Connection,
    change: Change,
    *,
    requested: list[dict[str, Any]],  # op, item_id, product_id, variant_id, quantity, attributes
    limits: Limits,
    default_currency: str,
) -> CartRows:
    """All of the ``requested`` changes or (BulkRejected, every refusal listed) none: the owner lock, the cart row
    (created by a first change), the changes, the cart."""
    owner = change.owner
    ensure = ensure_cart(change, _first_added(requested), default_currency=default_currency)
    step = owned(
        "bulk_change.sql", owner,
        changes=Jsonb(requested), atomic=True, is_guest=owner.kind == "guest", **limits.params(),
    )  # fmt: skip
    _, _, _, *cart = pipeline(conn, [lock_owner(owner), ensure, step, *views(owner)])
    return CartRows(*cart)


def reorder(
    conn: psycopg.Connection, change: Change, *, order_id: str, limits: Limits, default_currency: str
) -> tuple[Row, CartRows]:
    """The lines of the owner's completed order ``order_id`` added as they fit; returns what was
    added and skipped (each skipped line with its problem), and the cart."""
    owner = change.owner
    step = owned(
        "reorder.sql", owner,
        order_id=order_id, atomic=False, is_guest=owner.kind == "guest", **limits.params(),
    )  # fmt: skip
    ensure = ensure_cart(change, None, default_currency=default_currency)
    _, _, (report,), *cart = pipeline(conn, [lock_owner(owner), ensure, step, *views(owner)])
    return report, CartRows(*cart)
