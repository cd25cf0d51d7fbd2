"""Shoppers as the cart needs them beside carts: a signed-in shopper's email (for abandoned-cart
win-back). The catalog's read is store/catalog.py's (the public GET /catalog/products)."""

from __future__ import annotations

import psycopg

from cart_common.db import Statement, pipeline
from cart_common.session import Owner
from cart_common.store._compose import plain

# Written only when it changed.
_REMEMBER_EMAIL = """
insert into shopper (user_id, email) values (%(user)s, %(email)s)
on conflict (user_id) do update set email = excluded.email, updated_at = now()
where shopper.email is distinct from excluded.email
"""


def remember_email_statement(user: Owner, email: str) -> Statement:
    return plain(_REMEMBER_EMAIL, user=user.key, email=email)


def remember_email(conn: psycopg.Connection, user: Owner, email: str) -> None:
    pipeline(conn, [remember_email_statement(user, email)])
