"""The sign-in merge of a guest's cart into the user's (the Cognito trigger, the lazy path and
POST /cart/merge all come here): one round trip, both carts locked in one order."""

from __future__ import annotations

import psycopg

from cart_common.config import Limits
from cart_common.db import pipeline
from cart_common.session import Owner
from cart_common.store._compose import Row, plain
from cart_common.store.cart import CartRows, lock_owner, views


def merge_cart(
    conn: psycopg.Connection,
    user: Owner,
    guest: Owner,
    *,
    strategy: str,
    limits: Limits,
    user_ttl_days: float,
) -> tuple[Row, CartRows]:
    """Merge ``guest``'s cart into ``user``'s; return the merge outcome row and the user's cart."""
    params = {"user": user.key, "guest": guest.key, "strategy": strategy, "user_ttl": user_ttl_days, **limits.params()}
    _, _, (outcome,), *cart = pipeline(
        conn, [lock_owner(user), plain("lock_merge_carts.sql", **params), plain("merge_cart.sql", **params),
               *views(user)],
    )  # fmt: skip
    return outcome, CartRows(*cart)
