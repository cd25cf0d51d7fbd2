"""Shoppers and the catalog as the cart needs them beside carts: a signed-in shopper's email (for
abandoned-cart win-back) and the catalog listing of the local stack's dev-only ``GET /products``."""

from __future__ import annotations

import psycopg

from cart_common.db import Statement, pipeline
from cart_common.session import Owner
from cart_common.store._compose import Row, plain

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


_PRODUCTS = """
select p.id, p.name, p.slug, p.price, p.currency, p.stock, p.active,
       coalesce(jsonb_agg(jsonb_build_object(
           'id', s.variant_id, 'sku', s.sku, 'attributes', s.attributes,
           'price', s.price, 'stock', s.stock, 'active', v.active
       ) order by s.sku) filter (where v.id is not null), '[]'::jsonb) as variants
from product p
left join product_variant v on v.product_id = p.id
left join lateral sellable(p.id, v.id) s on v.id is not null
group by p.id
order by p.name
"""


def list_products(conn: psycopg.Connection) -> list[Row]:
    """The catalog with its variants."""
    return pipeline(conn, [plain(_PRODUCTS)])[0]
