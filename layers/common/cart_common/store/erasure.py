"""The right to erasure: every row naming a user, gone in one round trip (the owner lock, so no
change of theirs runs meanwhile; their checkouts, locked before their carts as a completion locks
them; then erase_user.sql, which counts what it deletes)."""

from __future__ import annotations

import psycopg

from cart_common.db import pipeline
from cart_common.session import Owner
from cart_common.store._compose import Row, plain
from cart_common.store.cart import lock_owner
from cart_common.store.lists import lock_lists


def erase_user(conn: psycopg.Connection, user_id: str) -> Row:
    *_, counts = pipeline(
        conn,
        [
            lock_lists(Owner("user", user_id)),
            lock_owner(Owner("user", user_id)),
            plain("lock_erased_checkouts.sql", user_id=user_id),
            plain("erase_user.sql", user_id=user_id),
        ],
    )
    return counts[0]
