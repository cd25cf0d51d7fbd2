"""Every SQL statement about carts, and nothing else.

Each cart operation is one round trip: a pipeline of statements that PostgreSQL runs as one
implicit transaction (see ``db.pipeline``):

1. lock the owner's cart row (creating it on a first add) and bump its version and expiry;
2. the change itself, which checks its own rules and stops with ``raise_problem`` when one fails,
   rolling back step 1 too;
3. the cart as it now is.

Every writer takes the cart row lock first, so writers of one cart queue up instead of
deadlocking, and because each statement in READ COMMITTED takes a fresh snapshot, step 2 reads the
lines as the previous writer left them: increments are never lost.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from cart_common.db import Statement, pipeline
from cart_common.session import Owner

Row = dict[str, Any]

_OWNER_COLUMN = {"guest": "session_id", "user": "user_id"}


def _q(template: str, owner: Owner) -> sql.Composed:
    """A statement with the owner's key column filled in (an identifier, never a value)."""
    return sql.SQL(template).format(owner_col=sql.Identifier(_OWNER_COLUMN[owner.kind]))


def _params(owner: Owner, **params: Any) -> dict[str, Any]:
    return {"owner": owner.key, **params}


CART_VIEW = """
select c.id as cart_id, c.version, c.currency,
       i.id as item_id, i.product_id, i.variant_id, v.sku, p.name, p.image_url,
       coalesce(v.attributes, '{{}}'::jsonb) || i.selected_attributes as attributes,
       i.quantity, i.price_at_add,
       coalesce(v.price, p.price) as unit_price,
       p.active and coalesce(v.active, true) as active,
       coalesce(v.stock, p.stock) as stock,
       p.max_per_order
from cart c
left join cart_item i on i.cart_id = c.id
left join product p on p.id = i.product_id
left join product_variant v on v.id = i.variant_id
where c.{owner_col} = %(owner)s and c.status = 'active'
order by i.created_at, i.id
"""

# Step 1 of a first add: the cart is created in the product's currency.
ENSURE_CART = """
insert into cart ({owner_col}, currency, expires_at)
values (%(owner)s,
        coalesce((select currency from product where id = %(product_id)s), %(default_currency)s),
        now() + make_interval(days => %(ttl_days)s::int))
on conflict ({owner_col}) where status = 'active'
do update set version = cart.version + 1,
              last_activity_at = now(),
              updated_at = now(),
              abandoned_at = null,
              expires_at = greatest(cart.expires_at, excluded.expires_at)
"""

# Step 1 of every other change.
TOUCH_CART = """
update cart
set version = version + 1,
    last_activity_at = now(),
    updated_at = now(),
    abandoned_at = null,
    expires_at = greatest(expires_at, now() + make_interval(days => %(ttl_days)s::int))
where {owner_col} = %(owner)s and status = 'active'
"""

# The per-line maximum: the configured one, or the product's own when lower.
_MAX_LINE = "least(%(max_line)s::int, coalesce(p.max_per_order, %(max_line)s::int))"

ADD_LINE = """
with cart_ as (
    select id, currency from cart where {owner_col} = %(owner)s and status = 'active'
),
product_ as (
    select p.id as product_id, v.id as variant_id, p.currency,
           coalesce(v.price, p.price) as price,
           coalesce(v.stock, p.stock) as stock,
           """ + _MAX_LINE + """ as max_line,
           exists (select 1 from product_variant x where x.product_id = p.id) as has_variants
    from product p
    left join product_variant v on v.product_id = p.id and v.id = %(variant_id)s::uuid and v.active
    where p.id = %(product_id)s::uuid and p.active
),
wanted as (
    select cart_.id as cart_id, cart_.currency as cart_currency, product_.*,
           coalesce((select i.quantity from cart_item i
                     where i.cart_id = cart_.id and i.product_id = product_.product_id
                       and i.variant_id is not distinct from product_.variant_id), 0) as in_cart
    from cart_, product_
),
line as (
    insert into cart_item (cart_id, product_id, variant_id, quantity, price_at_add, selected_attributes)
    select cart_id, product_id, variant_id, %(quantity)s::int, price, %(attributes)s
    from wanted
    where (variant_id is not null) = has_variants
      and cart_currency = currency
      and in_cart + %(quantity)s::int <= least(max_line, stock)
    on conflict on constraint cart_item_line do update
    set quantity = cart_item.quantity + excluded.quantity,
        price_at_add = excluded.price_at_add,
        selected_attributes = cart_item.selected_attributes || excluded.selected_attributes,
        updated_at = now()
    returning id
)
select case
    when not exists (select 1 from product_) then
        raise_problem('product_not_found', jsonb_build_object('productId', %(product_id)s::text))
    when %(variant_id)s::uuid is not null and (select variant_id from product_) is null then
        raise_problem('product_not_found', jsonb_build_object(
            'productId', %(product_id)s::text, 'variantId', %(variant_id)s::text))
    when %(variant_id)s::uuid is null and (select has_variants from product_) then
        raise_problem('variant_required', jsonb_build_object('productId', %(product_id)s::text))
    when exists (select 1 from line) then 0
    when (select cart_currency <> currency from wanted) then
        raise_problem('currency_mismatch', (select jsonb_build_object(
            'cartCurrency', cart_currency, 'productCurrency', currency) from wanted))
    when (select in_cart + %(quantity)s::int > max_line from wanted) then
        raise_problem('limit_exceeded', (select jsonb_build_object(
            'limit', 'maxQuantityPerLine', 'allowed', max_line, 'inCart', in_cart) from wanted))
    else
        raise_problem('insufficient_stock', (select jsonb_build_object(
            'maxAvailable', stock, 'inCart', in_cart) from wanted))
end as outcome
"""

SET_QUANTITY = """
with line as (
    select i.id, coalesce(v.stock, p.stock) as stock,
           """ + _MAX_LINE + """ as max_line,
           p.active and coalesce(v.active, true) as active
    from cart c
    join cart_item i on i.cart_id = c.id and i.id = %(item_id)s::uuid
    join product p on p.id = i.product_id
    left join product_variant v on v.id = i.variant_id
    where c.{owner_col} = %(owner)s and c.status = 'active'
),
changed as (
    update cart_item i set quantity = %(quantity)s::int, updated_at = now()
    from line
    where i.id = line.id and line.active and %(quantity)s::int <= least(line.max_line, line.stock)
    returning i.id
)
select case
    when not exists (select 1 from line) then
        raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
    when exists (select 1 from changed) then 0
    when not (select active from line) then
        raise_problem('product_unavailable', jsonb_build_object('itemId', %(item_id)s::text))
    when %(quantity)s::int > (select max_line from line) then
        raise_problem('limit_exceeded', (select jsonb_build_object(
            'limit', 'maxQuantityPerLine', 'allowed', max_line) from line))
    else
        raise_problem('insufficient_stock', (select jsonb_build_object('maxAvailable', stock) from line))
end as outcome
"""

# Switching a line to another variant of its product; when the cart already has a line of that
# variant, this line is folded into it (quantities added) so there is still one line per variant.
SWITCH_VARIANT = """
with line as (
    select i.id, i.cart_id, i.product_id, i.quantity
    from cart c
    join cart_item i on i.cart_id = c.id and i.id = %(item_id)s::uuid
    where c.{owner_col} = %(owner)s and c.status = 'active'
),
target as (
    select v.id as variant_id, coalesce(v.price, p.price) as price, v.stock,
           """ + _MAX_LINE + """ as max_line
    from line
    join product p on p.id = line.product_id and p.active
    join product_variant v on v.product_id = p.id and v.id = %(variant_id)s::uuid and v.active
),
other as (
    select i.id, i.quantity
    from cart_item i, line, target
    where i.cart_id = line.cart_id and i.product_id = line.product_id
      and i.variant_id = target.variant_id and i.id <> line.id
),
wanted as (
    select line.id, target.*,
           coalesce(%(quantity)s::int, line.quantity) + coalesce((select quantity from other), 0) as total
    from line, target
),
moved as (
    update cart_item i
    set variant_id = w.variant_id, price_at_add = w.price, quantity = w.total, updated_at = now()
    from wanted w
    where i.id = w.id and not exists (select 1 from other) and w.total <= least(w.max_line, w.stock)
    returning i.id
),
folded as (
    update cart_item i set quantity = w.total, updated_at = now()
    from wanted w, other o
    where i.id = o.id and w.total <= least(w.max_line, w.stock)
    returning i.id
),
dropped as (
    delete from cart_item i using line
    where i.id = line.id and exists (select 1 from folded)
    returning i.id
)
select case
    when not exists (select 1 from line) then
        raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
    when not exists (select 1 from target) then
        raise_problem('product_not_found', jsonb_build_object('variantId', %(variant_id)s::text))
    when exists (select 1 from moved) or exists (select 1 from folded) then 0
    when (select total > max_line from wanted) then
        raise_problem('limit_exceeded', (select jsonb_build_object(
            'limit', 'maxQuantityPerLine', 'allowed', max_line) from wanted))
    else
        raise_problem('insufficient_stock', (select jsonb_build_object('maxAvailable', stock) from wanted))
end as outcome
"""

REMOVE_LINE = """
with removed as (
    delete from cart_item i using cart c
    where i.id = %(item_id)s::uuid and i.cart_id = c.id
      and c.{owner_col} = %(owner)s and c.status = 'active'
    returning i.id
)
select case
    when exists (select 1 from removed) then 0
    else raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
end as outcome
"""

CLEAR_LINES = """
delete from cart_item i using cart c
where i.cart_id = c.id and c.{owner_col} = %(owner)s and c.status = 'active'
"""


def _change(conn: psycopg.Connection, owner: Owner, first: Statement, change: Statement) -> list[Row]:
    view = (_q(CART_VIEW, owner), _params(owner))
    return pipeline(conn, [first, change, view])[-1]


def _touch(owner: Owner, ttl_days: int) -> Statement:
    return _q(TOUCH_CART, owner), _params(owner, ttl_days=ttl_days)


def cart_rows(conn: psycopg.Connection, owner: Owner) -> list[Row]:
    return pipeline(conn, [(_q(CART_VIEW, owner), _params(owner))])[0]


def add_line(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    product_id: UUID,
    variant_id: UUID | None,
    quantity: int,
    attributes: dict[str, Any],
    max_line: int,
    ttl_days: int,
    default_currency: str,
) -> list[Row]:
    ensure = _q(ENSURE_CART, owner), _params(
        owner, product_id=product_id, ttl_days=ttl_days, default_currency=default_currency
    )
    add = _q(ADD_LINE, owner), _params(
        owner,
        product_id=product_id,
        variant_id=variant_id,
        quantity=quantity,
        attributes=Jsonb(attributes),
        max_line=max_line,
    )
    return _change(conn, owner, ensure, add)


def set_quantity(
    conn: psycopg.Connection, owner: Owner, *, item_id: UUID, quantity: int, max_line: int, ttl_days: int
) -> list[Row]:
    change = _q(SET_QUANTITY, owner), _params(owner, item_id=item_id, quantity=quantity, max_line=max_line)
    return _change(conn, owner, _touch(owner, ttl_days), change)


def switch_variant(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    item_id: UUID,
    variant_id: UUID,
    quantity: int | None,
    max_line: int,
    ttl_days: int,
) -> list[Row]:
    change = _q(SWITCH_VARIANT, owner), _params(
        owner, item_id=item_id, variant_id=variant_id, quantity=quantity, max_line=max_line
    )
    return _change(conn, owner, _touch(owner, ttl_days), change)


def remove_line(conn: psycopg.Connection, owner: Owner, *, item_id: UUID, ttl_days: int) -> list[Row]:
    change = _q(REMOVE_LINE, owner), _params(owner, item_id=item_id)
    return _change(conn, owner, _touch(owner, ttl_days), change)


def clear_lines(conn: psycopg.Connection, owner: Owner, *, ttl_days: int) -> list[Row]:
    change = _q(CLEAR_LINES, owner), _params(owner)
    return _change(conn, owner, _touch(owner, ttl_days), change)


# Merge step 1: both carts locked in one fixed order (by id), so two merges, or a merge and the
# writers of either cart, queue up instead of deadlocking.
LOCK_MERGE_CARTS = """
select id from cart
where ((session_id = %(guest)s) or (user_id = %(user)s)) and status = 'active'
order by id
for update
"""

# Merge step 2. No user cart: the guest cart is adopted (re-keyed to the user). Otherwise each
# guest line is folded into the user's cart by the strategy, capped at stock and the line maximum,
# and the guest cart is marked merged (into which cart, when), so a replay finds nothing to do.
# Returns one row: the outcome and every guest line with what became of it.
MERGE_CARTS = """
with guest as (
    select id, currency from cart where session_id = %(guest)s and status = 'active'
),
usr as (
    select id, currency from cart where user_id = %(user)s and status = 'active'
),
adopted as (
    update cart c
    set user_id = %(user)s, session_id = null, version = c.version + 1,
        expires_at = greatest(c.expires_at, now() + make_interval(days => %(user_ttl)s::int)),
        last_activity_at = now(), updated_at = now(), abandoned_at = null
    from guest
    where c.id = guest.id and not exists (select 1 from usr)
    returning c.id
),
guest_lines as (
    select gi.product_id, gi.variant_id, gi.quantity, gi.price_at_add, gi.selected_attributes,
           ui.id as user_item_id, coalesce(ui.quantity, 0) as user_quantity,
           p.active and coalesce(v.active, true) as active,
           coalesce(v.stock, p.stock) as stock,
           """ + _MAX_LINE + """ as max_line,
           g.currency = u.currency as same_currency
    from guest g
    join usr u on true
    join cart_item gi on gi.cart_id = g.id
    join product p on p.id = gi.product_id
    left join product_variant v on v.id = gi.variant_id
    left join cart_item ui on ui.cart_id = u.id and ui.product_id = gi.product_id
                          and ui.variant_id is not distinct from gi.variant_id
),
planned as (
    select *,
           case %(strategy)s
               when 'sum' then user_quantity + quantity
               when 'max' then greatest(user_quantity, quantity)
               else quantity
           end as wanted
    from guest_lines
),
decided as (
    select *,
           case
               when not same_currency or not active then 0
               -- a merge never lowers a line the user already had (unless the guest cart replaces it)
               when %(strategy)s <> 'replace' and user_item_id is not null
                   then greatest(user_quantity, least(wanted, stock, max_line))
               else greatest(0, least(wanted, stock, max_line))
           end as final,
           case
               when not same_currency then 'currency_mismatch'
               when not active then 'unavailable'
               when least(stock, max_line) <= 0 then 'out_of_stock'
               when wanted > max_line and max_line <= stock then 'limit_exceeded'
               when wanted > stock then 'insufficient_stock'
           end as reason
    from planned
),
removed as (
    delete from cart_item ui using usr
    where %(strategy)s = 'replace' and ui.cart_id = usr.id
      and exists (select 1 from guest_lines)
      and not exists (select 1 from decided d where d.user_item_id = ui.id and d.final > 0)
    returning ui.product_id, ui.variant_id, ui.quantity
),
written as (
    insert into cart_item (cart_id, product_id, variant_id, quantity, price_at_add, selected_attributes)
    select u.id, d.product_id, d.variant_id, d.final, d.price_at_add, d.selected_attributes
    from decided d, usr u
    where d.final > 0
    on conflict on constraint cart_item_line do update
    set quantity = excluded.quantity,
        selected_attributes = cart_item.selected_attributes || excluded.selected_attributes,
        updated_at = now()
    returning id
),
marked as (
    update cart c set status = 'merged', merged_into = u.id, merged_at = now(), updated_at = now()
    from guest g, usr u
    where c.id = g.id
    returning c.id
),
bumped as (
    update cart c
    set version = c.version + 1, last_activity_at = now(), updated_at = now(), abandoned_at = null,
        expires_at = greatest(c.expires_at, now() + make_interval(days => %(user_ttl)s::int))
    from usr u
    where c.id = u.id and exists (select 1 from guest)
    returning c.id
)
select
    case
        when exists (select 1 from adopted) then 'adopted'
        when exists (select 1 from marked) then 'merged'
        when exists (select 1 from cart where session_id = %(guest)s and status = 'merged') then 'already_merged'
        else 'nothing_to_merge'
    end as outcome,
    case
        when exists (select 1 from adopted) then (
            select coalesce(jsonb_agg(jsonb_build_object(
                'productId', gi.product_id, 'variantId', gi.variant_id, 'guestQuantity', gi.quantity,
                'userQuantity', 0, 'quantity', gi.quantity, 'userHadLine', false, 'reason', null)), '[]'::jsonb)
            from guest g join cart_item gi on gi.cart_id = g.id)
        else (
            select coalesce(jsonb_agg(jsonb_build_object(
                'productId', product_id, 'variantId', variant_id, 'guestQuantity', quantity,
                'userQuantity', user_quantity, 'quantity', final, 'wanted', wanted,
                'userHadLine', user_item_id is not null, 'reason', reason)), '[]'::jsonb)
            from decided)
    end as lines,
    (select coalesce(jsonb_agg(jsonb_build_object(
        'productId', product_id, 'variantId', variant_id, 'quantity', quantity)), '[]'::jsonb)
     from removed) as removed,
    (select count(*) from written) as written
"""


def merge_carts(
    conn: psycopg.Connection,
    user: Owner,
    guest: Owner,
    *,
    strategy: str,
    max_line: int,
    user_ttl_days: int,
) -> tuple[Row, list[Row]]:
    """Merge ``guest``'s cart into ``user``'s; return the merge outcome row and the user's cart."""
    params = {
        "user": user.key, "guest": guest.key, "strategy": strategy, "max_line": max_line, "user_ttl": user_ttl_days,
    }
    _, (outcome,), view = pipeline(
        conn,
        [(LOCK_MERGE_CARTS, params), (MERGE_CARTS, params), (_q(CART_VIEW, user), _params(user))],
    )
    return outcome, view


# A signed-in shopper's email, for abandoned-cart win-back; written only when it changed.
REMEMBER_EMAIL = """
insert into shopper (user_id, email) values (%(user)s, %(email)s)
on conflict (user_id) do update set email = excluded.email, updated_at = now()
where shopper.email is distinct from excluded.email
"""


def remember_email_statement(user: Owner, email: str) -> Statement:
    return REMEMBER_EMAIL, {"user": user.key, "email": email}


def remember_email(conn: psycopg.Connection, user: Owner, email: str) -> None:
    pipeline(conn, [remember_email_statement(user, email)])


DEMO_PRODUCTS = """
select p.id, p.name, p.slug, p.price, p.currency, p.stock, p.active,
       coalesce(jsonb_agg(jsonb_build_object(
           'id', v.id, 'sku', v.sku, 'attributes', v.attributes,
           'price', coalesce(v.price, p.price), 'stock', v.stock, 'active', v.active
       ) order by v.sku) filter (where v.id is not null), '[]'::jsonb) as variants
from product p
left join product_variant v on v.product_id = p.id
group by p.id
order by p.name
"""


def list_products(conn: psycopg.Connection) -> list[Row]:
    """The catalog with its variants (the local stack's dev-only ``GET /products``)."""
    return conn.execute(DEMO_PRODUCTS).fetchall()
