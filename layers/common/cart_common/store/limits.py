"""Rate limits (issue 14): the statements that take a token from a bucket (``take_token`` in
migration 0011). None is a round trip of its own: each travels in the pipeline of the change it
limits, before the cart row is locked (the checkout bucket after it: see ``hoarding``), and a
refusal (429 rate_limited) rolls back the whole change."""

from __future__ import annotations

from psycopg import sql

from cart_common.config import RatePolicy
from cart_common.db import Statement
from cart_common.session import Owner

_TAKE = sql.SQL("select * from take_token(%(bucket)s, %(quota)s::int, %(window_s)s::int, {cost}, %(need)s::int)")
# What a take costs: a number of tokens, or an expression that counts them in the change's transaction.
_ONE, _NONE = sql.Literal(1), sql.Literal(0)
# A token when this change creates the guest's cart (none when the guest already has one).
_CREATES_CART = sql.SQL(
    "(select case when exists (select 1 from cart where session_id = %(owner)s and status = 'active')"
    " then 0 else 1 end)"
)
# A token when reserve_stock opened a checkout in this transaction (an open checkout created now).
_OPENED_CHECKOUT = sql.SQL(
    "(select count(*)::int from checkout k join cart c on c.id = k.cart_id"
    " where c.user_id = %(owner)s and k.status = 'open' and k.created_at = now())"
)


def _take(policy: RatePolicy, subject: str, cost: sql.Composable, **params: object) -> Statement:
    return _TAKE.format(cost=cost), {
        "bucket": f"{policy.name}:{subject}", "quota": policy.quota, "window_s": policy.window_s, "need": None,
        **params,
    }  # fmt: skip


def change(policy: RatePolicy, owner: Owner) -> Statement:
    """One token per change of ``owner``'s cart."""
    return _take(policy, f"{owner.kind}:{owner.key}", cost=_ONE)


def new_guest_cart(policy: RatePolicy, owner: Owner, address: str) -> Statement:
    """One token of the client address's bucket when this change creates the guest's cart."""
    return _take(policy, address, cost=_CREATES_CART, owner=owner.key)


def codes_left(policy: RatePolicy, owner: Owner) -> Statement:
    """Refuses a discount code attempt when the owner's failed attempts used up the bucket
    (spending nothing: only a failure spends, see ``failed_code``)."""
    return _take(policy, f"{owner.kind}:{owner.key}", cost=_NONE, need=1)


def failed_code(policy: RatePolicy, owner: Owner) -> Statement:
    """A refused code spends a token (after the refusal rolled its change back: a second round
    trip, on that path only)."""
    return _take(policy, f"{owner.kind}:{owner.key}", cost=_ONE, need=0)


def hoarding(policy: RatePolicy, owner: Owner) -> Statement:
    """After reserve_stock: one token of the user's checkout bucket when it opened a checkout in
    this transaction; refused, the reservation is rolled back."""
    return _take(policy, f"user:{owner.key}", cost=_OPENED_CHECKOUT, owner=owner.key)


_REFUND = """
select coalesce((select refund_token(%(prefix)s || c.user_id, %(quota)s::int)
                 from checkout k join cart c on c.id = k.cart_id
                 where k.id = %(checkout_id)s::uuid and k.status = 'completed' and c.user_id is not null),
                0) as refunded
"""


def completed_checkout(policy: RatePolicy, checkout_id: object) -> Statement:
    """A completed checkout was not hoarding: its token comes back."""
    return _REFUND, {"prefix": f"{policy.name}:user:", "quota": policy.quota, "checkout_id": checkout_id}
