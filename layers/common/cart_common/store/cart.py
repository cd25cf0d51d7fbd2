"""The cart as every response shows it (three views read in the same round trip as any change), and
the first step of every change: the cart row locked, its version, expiry and If-Match."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg

from cart_common.db import Statement, pipeline
from cart_common.session import Owner
from cart_common.store._compose import Row, owned

_VIEWS = ("cart_view.sql", "saved_view.sql", "discount_view.sql")


@dataclass(frozen=True)
class Change:
    """What every change of a cart carries: whose cart (``owner``), how long it lives from now on
    (``ttl_days``: every change slides the expiry) and the version the client holds (``expected``,
    from If-Match; None: any)."""

    owner: Owner
    ttl_days: float
    expected: int | None = None


@dataclass(frozen=True)
class CartRows:
    """The cart's rows as read: its lines (one row with no line for an empty cart, none without a
    cart), its saved-for-later items and its applied discount codes."""

    lines: list[Row]
    saved: list[Row] = field(default_factory=list)
    discounts: list[Row] = field(default_factory=list)


def views(owner: Owner) -> list[Statement]:
    return [owned(view, owner) for view in _VIEWS]


def cart_rows(conn: psycopg.Connection, owner: Owner) -> CartRows:
    return CartRows(*pipeline(conn, views(owner), reads_only=True))


# If-None-Match: the client's copy is current (or ``*``: any), so the read stops here with 304
# not_modified, and the views after it in the pipeline never run: only the cart's version is read.
_UNLESS_CURRENT = """
with current_ as (
    select coalesce((select version from cart where {owner_col} = %(owner)s and status = 'active'), 0) as version
)
select case when cardinality(%(versions)s::int[]) = 0 or version = any(%(versions)s::int[])
            then raise_problem('not_modified', jsonb_build_object('version', version))
            else 0 end as outcome
from current_
"""


def cart_rows_unless(conn: psycopg.Connection, owner: Owner, versions: list[int]) -> CartRows:
    """The cart, in one round trip, unless its version is one of ``versions`` (``NotModified``)."""
    _, *rows = pipeline(conn, [owned(_UNLESS_CURRENT, owner, versions=versions), *views(owner)], reads_only=True)
    return CartRows(*rows)


# Whoever may create an owner's active cart (a first add; a merge adopting a guest cart for a
# user) first takes this lock on the owner's key, so two creators queue up instead of deadlocking
# on the unique index that allows one active cart per owner.
_LOCK_OWNER = "select pg_advisory_xact_lock(hashtextextended(%(lock_key)s, 0))"


def lock_owner(owner: Owner) -> Statement:
    return _LOCK_OWNER, {"lock_key": f"cart:{owner.kind}:{owner.key}"}


def ensure_cart(change: Change, product_id: UUID | None, *, default_currency: str) -> Statement:
    """Step 1 of a change that may create the cart (in ``product_id``'s currency, if any)."""
    return owned(
        "ensure_cart.sql", change.owner,
        product_id=product_id, ttl_days=change.ttl_days, default_currency=default_currency, expected=change.expected,
    )  # fmt: skip


def run_change(
    conn: psycopg.Connection, owner: Owner, first: Statement, step: Statement, *, creates: bool = False
) -> CartRows:
    """One round trip: (the owner lock, when the change may create the cart), ``first`` (the cart
    row), ``step`` (the change itself), and the cart as it now is."""
    results = pipeline(conn, [*([lock_owner(owner)] if creates else []), first, step, *views(owner)])
    return CartRows(*results[-3:])


def touched_change(conn: psycopg.Connection, change: Change, source: str, **params: Any) -> CartRows:
    """A change to an existing cart: touch_cart (lock, version, expiry, If-Match), then ``source``
    with ``params``, then the views: one round trip."""
    touch = owned("touch_cart.sql", change.owner, ttl_days=change.ttl_days, expected=change.expected)
    return run_change(conn, change.owner, touch, owned(source, change.owner, **params))
