"""The sign-in merge of a guest's cart into the user's (the Cognito trigger, the lazy path and
POST /cart/merge all come here): one round trip, both carts locked in one order. The guest's lists
and share links come along in the same round trip and transaction (merge_lists.sql, a statement of its
own for reading's sake), after both owners' lists locks, which come first (store/lists.py: lock order)."""

from __future__ import annotations

import psycopg

from cart_common.config import Limits
from cart_common.db import pipeline
from cart_common.session import Owner
from cart_common.store._compose import Row, plain
from cart_common.store.cart import CartRows, lock_owner, views
from cart_common.store.lists import lock_lists


def merge_cart(
    conn: psycopg.Connection,
    user: Owner,
    guest: Owner,
    *,
    strategy: str,
    limits: Limits,
    user_ttl_days: float,
    max_list_items: int = 100,
) -> tuple[Row, CartRows]:
    """Merge ``guest``'s cart and lists into ``user``'s; return the merge outcome row and the user's cart."""
    params = {"user": user.key, "guest": guest.key, "strategy": strategy, "user_ttl": user_ttl_days, **limits.params()}
    *_, (outcome,), _, lines, saved, discounts = pipeline(
        conn, [lock_lists(user), lock_lists(guest), lock_owner(user), plain("lock_merge_carts.sql", **params),
               plain("merge_cart.sql", **params), plain("merge_lists.sql", **params, max_items=max_list_items),
               *views(user)],
    )  # fmt: skip
    return outcome, CartRows(lines, saved, discounts)
