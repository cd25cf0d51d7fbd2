"""Discount codes on a cart: apply (its rules checked when applied) and remove."""

from __future__ import annotations

import psycopg

from cart_common.session import Owner
from cart_common.store.cart import CartRows, touched_change

_REMOVE_DISCOUNT = """
with removed as (
    delete from cart_discount cd using cart c
    where cd.cart_id = c.id and c.{owner_col} = %(owner)s and c.status = 'active' and cd.code = upper(%(code)s)
    returning 1
)
select case when exists (select 1 from removed) then 0
    else raise_problem('discount_code_not_applied', jsonb_build_object('discountCode', upper(%(code)s))) end as outcome
"""


def apply_discount_code(
    conn: psycopg.Connection, owner: Owner, *, code: str, ttl_days: float, expected: int | None = None
) -> CartRows:
    return touched_change(conn, owner, "apply_discount_code.sql", ttl_days=ttl_days, expected=expected, code=code)


def remove_discount_code(
    conn: psycopg.Connection, owner: Owner, *, code: str, ttl_days: float, expected: int | None = None
) -> CartRows:
    return touched_change(conn, owner, _REMOVE_DISCOUNT, ttl_days=ttl_days, expected=expected, code=code)
