"""The scheduled sweep (cart_common/lifecycle.py) and the admin listing of abandoned carts.

Every sweep statement is one bounded batch in its own short transaction: it locks at most
``batch`` rows it chose with FOR UPDATE SKIP LOCKED (so it never waits for a shopper, and two
overlapping sweeps take disjoint rows instead of waiting for each other), re-checks its condition
on the locked row in the same statement, and counts only the rows it changed itself. The chosen ids
are handed on as an array (= any(array(...))) so the write finds them by primary key: a join with
the CTE lets the planner scan the whole table, a cost that grows with the table instead of the batch.

A cart whose open checkout still holds stock is never swept (its reservation would vanish in the
cascade mid-payment; and completing a checkout locks the checkout before the cart, the opposite of a
delete's cascade, so skipping them also keeps the two from deadlocking).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from cart_common.db import Statement, pipeline
from cart_common.store._compose import Row, plain


def _one(conn: psycopg.Connection, source: str, **params: Any) -> Row:
    return pipeline(conn, [plain(source, **params)])[0][0]


def expire_carts(conn: psycopg.Connection, *, batch: int) -> Row:
    return _one(conn, "expire_carts.sql", batch=batch)


def purge_checkouts(conn: psycopg.Connection, *, batch: int) -> Row:
    return _one(conn, "purge_checkouts.sql", batch=batch)


def purge_lists(conn: psycopg.Connection, *, batch: int) -> Row:
    """Expired guest lists and expired share links (issue 23)."""
    return _one(conn, "purge_lists.sql", batch=batch)


def purge_idempotency_keys(conn: psycopg.Connection, *, batch: int) -> Row:
    return _one(conn, "purge_idempotency_keys.sql", batch=batch)


def purge_rate_buckets(conn: psycopg.Connection, *, batch: int, checkout_rate: float) -> Row:
    """Full buckets gone; and the users cut off from checkout now (``checkout_rate``: tokens a second)."""
    return _one(conn, "purge_rate_buckets.sql", batch=batch, checkout_rate=checkout_rate)


def mark_abandoned(conn: psycopg.Connection, *, batch: int, hours: float) -> Row:
    return _one(conn, "mark_abandoned.sql", batch=batch, hours=hours)


def anonymise_abandoned(conn: psycopg.Connection, *, batch: int, days: float) -> Row:
    return _one(conn, "anonymise_abandoned.sql", batch=batch, days=days)


def remove_stale_emails(conn: psycopg.Connection, *, batch: int, days: float, after: str) -> Row:
    return _one(conn, "remove_stale_emails.sql", batch=batch, days=days, after=after)


def notify_saved_items(conn: psycopg.Connection, *, batch: int, after: str) -> Row:
    """SavedItemBackInStock / SavedItemPriceDropped for the saved items after id ``after``."""
    return _one(conn, "notify_saved_items.sql", batch=batch, after=after)


# A converted cart that had once been marked abandoned is recovered; the first conversion's time is
# kept, so a replay changes nothing. Returns no row for a cart that was never abandoned.
_MARK_RECOVERED = """
update cart
set recovered_at = coalesce(recovered_at, now()), abandoned_at = null, updated_at = now()
where id = %(cart_id)s::uuid and abandoned_value is not null
returning recovered_at
"""


def mark_recovered_statement(cart_id: UUID) -> Statement:
    return plain(_MARK_RECOVERED, cart_id=cart_id)


def mark_recovered(conn: psycopg.Connection, cart_id: UUID) -> Row | None:
    rows = pipeline(conn, [mark_recovered_statement(cart_id)])[0]
    return rows[0] if rows else None


# The admin listing: active carts still marked abandoned, most valuable first. An anonymised
# record shows neither its user nor the user's email.
_COUNT_ABANDONED = "select count(*) as total from cart c where {abandoned}"
_LIST_ABANDONED = """
select c.id, c.currency, c.abandoned_items as items, c.abandoned_value as total_value,
       c.last_activity_at, c.abandoned_at,
       case when c.anonymised_at is null then c.user_id end as user_id,
       s.email as user_email
from cart c
left join shopper s on s.user_id = c.user_id and c.anonymised_at is null
where {abandoned}
order by c.abandoned_value desc, c.last_activity_at desc, c.id
limit %(limit)s offset %(offset)s
"""


def list_abandoned(
    conn: psycopg.Connection, *, min_value: int, since: Any, limit: int, offset: int
) -> tuple[int, list[Row]]:
    """The total matching and one page, in one round trip."""
    params = {"min_value": min_value, "since": since, "limit": limit, "offset": offset}
    (count,), page = pipeline(
        conn, [plain(_COUNT_ABANDONED, **params), plain(_LIST_ABANDONED, **params)], reads_only=True
    )
    return count["total"], page
