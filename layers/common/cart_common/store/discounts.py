"""Discount codes on a cart: apply (its rules checked when applied) and remove."""

from __future__ import annotations

import psycopg

from cart_common.store.cart import CartRows, Change, touched_change

_REMOVE_DISCOUNT = """
with removed as (
    delete from cart_discount cd using cart c
    where cd.cart_id = c.id and c.{owner_col} = %(owner)s and c.status = 'active' and cd.code = upper(%(code)s)
    returning 1
)
select case when exists (select 1 from removed) then 0
    else raise_problem('discount_code_not_applied', jsonb_build_object('discountCode', upper(%(code)s))) end as outcome
"""


def apply_discount_code(conn: psycopg.Connection, change: Change, *, code: str) -> CartRows:
    return touched_change(conn, change, "apply_discount_code.sql", code=code)


def remove_discount_code(conn: psycopg.Connection, change: Change, *, code: str) -> CartRows:
    return touched_change(conn, change, _REMOVE_DISCOUNT, code=code)
