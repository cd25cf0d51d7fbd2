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
from cart_common.store.lists import lock_lists

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
    max_list_items: int = 100,
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
    # A signed-in caller's guest session is over once its cart is folded in: its lists and share links
    # become the user's as a sign-in merge would carry them (merge_lists.sql, lists locks first).
    carried = owner.kind == "user" and guest_session is not None
    lists_first = [lock_lists(owner), lock_lists(Owner("guest", guest_session or ""))] if carried else []
    lists_after = [plain("merge_lists.sql", user=owner.key, guest=guest_session, max_items=max_list_items)]
    results = pipeline(
        conn,
        [
            *lists_first,
            lock_owner(owner),
            plain(_LOCK, **params),
            plain("recover_check.sql", **params),
            plain("recover_fold.sql", **params),
            plain("recover_take.sql", **params),
            *(lists_after if carried else []),
            *views(owner),
        ],
    )
    (check,), _, taken = results[len(lists_first) + 2 : len(lists_first) + 5]
    return check["outcome"], (taken[0] if taken else None), CartRows(*results[-3:])
