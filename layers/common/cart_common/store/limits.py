"""Rate limits (issue 14): the statements that take a token from a bucket (``take_token`` in
migration 0011). None is a round trip of its own: each travels in the pipeline of the change it
limits, before the cart row is locked (the checkout bucket after it: see ``hoarding``), and a
refusal (429 rate_limited) rolls back the whole change.

The checkout bucket (issue 20) counts the stock a user **holds**, not how often they look at
checkout: a checkout that opens a reservation takes a token and records it on the checkout row
(``checkout.token_bucket``, migration 0013); the token goes back, once, when the reservation ends
without having been hoarded to the end of the bucket's window:

- released by a change to the cart, or replaced by a re-checkout (``_release_checkout.sql``, in
  the same statement as the release: a re-checkout's release gives back before its take, so it
  nets nothing and succeeds even on an empty bucket);
- released by the order service (PaymentFailed, CheckoutCancelled): ``released_checkout``;
- completed: ``completed_checkout``;
- expired: on the cart's next change or checkout (which releases it), or by the sweep that
  purges it (``purge_checkouts.sql``).

A user has one active cart, and a cart at most one open checkout, so a user holds at most one
reservation at a time, the size of which the cart limits bound (lines, per-line maximum,
``max_per_customer``, cart value); the bucket's tokens out are the reservations held."""

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


# After reserve_stock: the checkout it opened in this transaction (an open checkout created now)
# carries the token it takes.
_HOLD = """
with opened as (
    update checkout k set token_bucket = %(bucket)s, token_quota = %(quota)s::int
    from cart c
    where c.id = k.cart_id and c.user_id = %(owner)s and k.status = 'open' and k.created_at = now()
    returning k.id
)
select * from take_token(%(bucket)s, %(quota)s::int, %(window_s)s::int, (select count(*)::int from opened),
                         %(need)s::int)
"""


def hoarding(policy: RatePolicy, owner: Owner) -> Statement:
    """After reserve_stock: one token of the user's checkout bucket when it opened a checkout in
    this transaction, recorded on that checkout (it goes back when the reservation ends); refused,
    the reservation is rolled back. The release of the cart's previous checkout, earlier in the same
    round trip, gave that one's token back first: a re-checkout spends nothing."""
    bucket = f"{policy.name}:user:{owner.key}"
    params = {"bucket": bucket, "quota": policy.quota, "window_s": policy.window_s, "need": None, "owner": owner.key}
    return _HOLD, params


# The token a checkout that no longer holds stock took, given back once: the column is cleared in
# the same update (``held`` is the row as it was), so replays and concurrent calls give nothing more.
_GIVE_BACK = """
with ended as (
    update checkout k set token_bucket = null
    from checkout held
    where k.id = %(checkout_id)s::uuid and held.id = k.id and k.status <> 'open'
      and split_part(held.token_bucket, ':', 1) = %(policy)s
    returning held.token_bucket, held.token_quota
),
refunded as (
    update rate_bucket b set tokens = least(e.token_quota, b.tokens + 1) from ended e where b.key = e.token_bucket
)
select (select count(*) from ended)::int as refunded
"""


def completed_checkout(policy: RatePolicy, checkout_id: object) -> Statement:
    """After the completion, in its round trip: a completed checkout was not hoarding, its token
    comes back (once, whatever the replays)."""
    return _GIVE_BACK, {"policy": policy.name, "checkout_id": checkout_id}


def released_checkout(policy: RatePolicy, checkout_id: object) -> Statement:
    """After the order service's release of ``checkout_id`` (PaymentFailed, CheckoutCancelled), in
    its round trip: the released reservation's token comes back (once, whatever the replays; a
    checkout still open gives nothing)."""
    return _GIVE_BACK, {"policy": policy.name, "checkout_id": checkout_id}
