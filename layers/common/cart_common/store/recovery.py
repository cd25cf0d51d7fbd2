"""POST /cart/recover: an abandoned cart brought back by its recovery link (cart_common/recovery.py),
in one round trip: the caller's owner lock, every cart involved locked in id order, the check, the
fold of the caller's other carts, the take-over, and the caller's cart as it now is. (Setting
``recovered_at`` is what announces CartRecovered: migration 0012's trigger writes it to the outbox in
this transaction.)"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import psycopg

from cart_common.config import Limits
from cart_common.db import pipeline
from cart_common.session import Owner
from cart_common.store._compose import Row, plain
from cart_common.store.cart import CartRows, lock_owner, views

# The recovered cart and the caller's active carts, locked in one fixed order (by id), as a merge
# locks both of its carts: two recoveries, or a recovery and a writer of either cart, queue up.
_LOCK = """
select id from cart
where id = %(cart_id)s or ((session_id = %(session)s::text or user_id = %(user)s::text) and status = 'active')
order by id
for update
"""


def recover_cart(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    cart_id: UUID,
    abandoned_at: datetime,
    guest_session: str | None,
    limits: Limits,
    ttl_days: float,
) -> tuple[str, Row | None, CartRows]:
    """The check's outcome ('recover' or 'replay'; a problem stops it), the recovered cart's id and
    ``recovered_at`` ('recover' only) and the caller's cart. ``guest_session``: a signed-in caller's
    guest session, whose cart is folded in too."""
    params = {
        "cart_id": cart_id,
        "abandoned_at": abandoned_at,
        "user": owner.key if owner.kind == "user" else None,
        "session": owner.key if owner.kind == "guest" else guest_session,
        "ttl_days": ttl_days,
        **limits.params(),
    }
    _, _, (check,), _, taken, *rest = pipeline(
        conn,
        [
            lock_owner(owner),
            plain(_LOCK, **params),
            plain("recover_check.sql", **params),
            plain("recover_fold.sql", **params),
            plain("recover_take.sql", **params),
            *views(owner),
        ],
    )
    return check["outcome"], (taken[0] if taken else None), CartRows(*rest)
