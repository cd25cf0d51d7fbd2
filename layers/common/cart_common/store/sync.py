"""POST /cart/sync: a client-held cart (built offline) merged into the server's in one round trip."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cart_common.config import Limits
from cart_common.db import pipeline
from cart_common.store._compose import Row, owned
from cart_common.store.cart import CartRows, Change, ensure_cart, lock_owner, views


def sync_cart(
    conn: psycopg.Connection,
    change: Change,
    *,
    items: list[dict[str, Any]],  # product_id, variant_id, quantity
    strategy: str,
    limits: Limits,
    default_currency: str,
) -> tuple[list[Row], CartRows]:
    """The owner's cart locked (created for a guest's first sync), the client's lines merged in by
    ``strategy``; returns the conflicts and the cart."""
    owner = change.owner
    ensure = ensure_cart(change, None, default_currency=default_currency)
    sync = owned(
        "sync_cart.sql", owner,
        items=Jsonb(items), list_id=None, share_id=None, strategy=strategy, is_guest=owner.kind == "guest",
        **limits.params(),
    )  # fmt: skip
    _, _, (row,), *cart = pipeline(conn, [lock_owner(owner), ensure, sync, *views(owner)])
    return row["conflicts"], CartRows(*cart)
