"""Rate limits (issue 14): the statements that take a token from a bucket (``take_token`` in
migration 0011). None is a round trip of its own: each travels in the pipeline of the change it
limits, before the cart row is locked (the checkout bucket after it: see ``hoarding``), and a
refusal (429 rate_limited) rolls back the whole change."""

from __future__ import annotations

from cart_common.config import RatePolicy
from cart_common.db import Statement
from cart_common.session import Owner

_TAKE = "select * from take_token(%(bucket)s, %(quota)s::int, %(window_s)s::int, {cost}, %(need)s::int)"


def _take(policy: RatePolicy, subject: str, cost: int | str, **params: object) -> Statement:
    """``cost``: tokens, or a SQL expression that counts them."""
    return _TAKE.format(cost=cost), {
        "bucket": f"{policy.name}:{subject}", "quota": policy.quota, "window_s": policy.window_s, "need": None,
        **params,
    }  # fmt: skip


def change(policy: RatePolicy, owner: Owner) -> Statement:
    """One token per change of ``owner``'s cart."""
    return _take(policy, f"{owner.kind}:{owner.key}", cost=1)


def new_guest_cart(policy: RatePolicy, owner: Owner, address: str) -> Statement:
    """One token of the client address's bucket when this change creates the guest's cart."""
    exists = "(select case when exists (select 1 from cart where session_id = %(owner)s and status = 'active')" \
             " then 0 else 1 end)"  # fmt: skip
    return _take(policy, address, cost=exists, owner=owner.key)


def codes_left(policy: RatePolicy, owner: Owner) -> Statement:
    """Refuses a discount code attempt when the owner's failed attempts used up the bucket
    (spending nothing: only a failure spends, see ``failed_code``)."""
    return _take(policy, f"{owner.kind}:{owner.key}", cost=0, need=1)


def failed_code(policy: RatePolicy, owner: Owner) -> Statement:
    """A refused code spends a token (after the refusal rolled its change back: a second round
    trip, on that path only)."""
    return _take(policy, f"{owner.kind}:{owner.key}", cost=1, need=0)


def hoarding(policy: RatePolicy, owner: Owner) -> Statement:
    """After reserve_stock: one token of the user's checkout bucket when it opened a checkout in
    this transaction (an open checkout created now); refused, the reservation is rolled back."""
    opened = "(select count(*)::int from checkout k join cart c on c.id = k.cart_id" \
             " where c.user_id = %(owner)s and k.status = 'open' and k.created_at = now())"  # fmt: skip
    return _take(policy, f"user:{owner.key}", cost=opened, owner=owner.key)


_REFUND = """
select coalesce((select refund_token(%(prefix)s || c.user_id, %(quota)s::int)
                 from checkout k join cart c on c.id = k.cart_id
                 where k.id = %(checkout_id)s::uuid and k.status = 'completed' and c.user_id is not null),
                0) as refunded
"""


def completed_checkout(policy: RatePolicy, checkout_id: object) -> Statement:
    """A completed checkout was not hoarding: its token comes back."""
    return _REFUND, {"prefix": f"{policy.name}:user:", "quota": policy.quota, "checkout_id": checkout_id}
