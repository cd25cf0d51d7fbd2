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

from cart_common.config import Limits
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

# Changing a cart releases the stock its open checkout holds.
_RELEASE_CHECKOUT = """
released as (
    update checkout k set status = 'released'
    from cart c
    where k.cart_id = c.id and c.{owner_col} = %(owner)s and c.status = 'active' and k.status = 'open'
    returning k.id
),
released_lines as (
    -- a released reservation holds nothing: its lines go now, so stock checks never wade through them
    delete from reservation r using released where r.checkout_id = released.id
)"""


def _if_match(matched: str) -> str:
    """A change's If-Match outcome (``%(expected)s``; none: no precondition): ``matched`` is SQL true
    when the cart had the expected version; 0 also matches "no cart yet". A stale version stops the
    whole change with 409 version_conflict."""
    return f"""select case
    when %(expected)s::int is null or {matched} then 0
    when %(expected)s::int = 0
         and not exists (select 1 from cart where {{owner_col}} = %(owner)s and status = 'active') then 0
    else raise_problem('version_conflict')
end as outcome
"""


# The cart's saved-for-later items and applied discount codes travel in the same round trip as its
# lines (see CartRows).
SAVED_VIEW = """
select s.id, s.product_id, s.variant_id, v.sku, p.name, p.image_url,
       coalesce(v.attributes, '{{}}'::jsonb) || s.selected_attributes as attributes,
       s.quantity, s.price_at_save, coalesce(v.price, p.price) as unit_price,
       s.stock_at_save, coalesce(v.stock, p.stock) as stock,
       p.active and coalesce(v.active, true) as active, s.saved_at
from cart c
join saved_item s on s.cart_id = c.id
join product p on p.id = s.product_id
left join product_variant v on v.id = s.variant_id
where c.{owner_col} = %(owner)s and c.status = 'active'
order by s.saved_at, s.id
"""

DISCOUNT_VIEW = """
select d.code, d.kind, d.value, d.currency, d.min_subtotal, d.starts_at, d.ends_at, d.usage_limit,
       d.times_used, d.active, now() as now
from cart c
join cart_discount cd on cd.cart_id = c.id
join discount_code d on d.code = cd.code
where c.{owner_col} = %(owner)s and c.status = 'active'
order by cd.applied_at, d.code
"""


class CartRows(list):
    """The cart's line rows (one row with no line for an empty cart, none without a cart), plus
    its saved-for-later items and applied discount codes."""

    def __init__(self, lines: list[Row], saved: list[Row] | None = None, discounts: list[Row] | None = None) -> None:
        super().__init__(lines)
        self.saved = saved or []
        self.discounts = discounts or []


def _views(owner: Owner) -> list[Statement]:
    return [(_q(view, owner), _params(owner)) for view in (CART_VIEW, SAVED_VIEW, DISCOUNT_VIEW)]


# Step 1 of an add: the cart row, locked (created on a first add, in the product's currency),
# version bumped, expiry slid, abandoned mark cleared. With If-Match (%(expected)s) a stale version
# stops the whole change.
ENSURE_CART = (
    """
with"""
    + _RELEASE_CHECKOUT
    + """,
ensured as (
    insert into cart ({owner_col}, currency, expires_at)
    values (%(owner)s,
            coalesce((select currency from product where id = %(product_id)s), %(default_currency)s),
            now() + %(ttl_days)s::float8 * interval '1 day')
    on conflict ({owner_col}) where status = 'active'
    do update set version = cart.version + 1,
                  last_activity_at = now(),
                  updated_at = now(),
                  abandoned_at = null,
                  expires_at = greatest(cart.expires_at, excluded.expires_at)
    where %(expected)s::int is null or cart.version = %(expected)s::int
    returning (xmax = 0) as inserted
)
select case
    when %(expected)s::int is null then 0
    when not exists (select 1 from ensured) then raise_problem('version_conflict')
    when (select inserted from ensured) and %(expected)s::int <> 0 then raise_problem('version_conflict')
    else 0
end as outcome
"""
)

# Step 1 of every other change.
TOUCH_CART = (
    """
with"""
    + _RELEASE_CHECKOUT
    + """,
touched as (
    update cart
    set version = version + 1,
        last_activity_at = now(),
        updated_at = now(),
        abandoned_at = null,
        expires_at = greatest(expires_at, now() + %(ttl_days)s::float8 * interval '1 day')
    where {owner_col} = %(owner)s and status = 'active'
      and (%(expected)s::int is null or version = %(expected)s::int)
    returning version
)
"""
    + _if_match("exists (select 1 from touched)")
)

# The per-line maximum: the configured one, or the product's own when lower.
_MAX_LINE = "least(%(max_line)s::int, coalesce(p.max_per_order, %(max_line)s::int))"

# What an add works on, as one row: product, variant, quantity and attributes. An add takes them
# from its parameters; a restore from the saved item (RESTORE_SAVED), so a restore keeps every rule
# of an add and answers the same problems.
_ADD_REQUEST = """request_ as (
    select %(product_id)s::uuid as product_id, %(variant_id)s::uuid as variant_id,
           %(quantity)s::int as quantity, %(attributes)s::jsonb as attributes
)"""


def _add_line(request: str, *, after_line: str = "", first_check: str = "") -> str:
    """The add statement over ``request`` (a ``request_`` CTE of one row, or none); ``after_line``:
    CTEs run once the line is written (they see ``line``); ``first_check``: a ``when ... then``
    tested before every rule."""
    return (
        "with "
        + request
        + """,
-- an empty cart takes the currency of the product being added (it was created in, or kept, the
-- currency of products it no longer holds)
cart_ as (
    select c.id,
           case when exists (select 1 from cart_item i where i.cart_id = c.id) then c.currency
                else coalesce((select p.currency from product p join request_ r on r.product_id = p.id), c.currency)
           end as currency
    from cart c where c.{owner_col} = %(owner)s and c.status = 'active'
),
recurrency as (
    update cart c set currency = cart_.currency from cart_ where c.id = cart_.id and c.currency <> cart_.currency
),
product_ as (
    select p.id as product_id, v.id as variant_id, p.currency,
           coalesce(v.price, p.price) as price,
           coalesce(v.stock, p.stock) as stock,
           """
        + _MAX_LINE
        + """ as max_line,
           p.requires_auth, p.max_per_customer, p.exclusive_group,
           exists (select 1 from product_variant x where x.product_id = p.id) as has_variants,
           r.quantity as adding, r.attributes
    from request_ r
    join product p on p.id = r.product_id and p.active
    left join product_variant v on v.product_id = p.id and v.id = r.variant_id and v.active
),
wanted as (
    select cart_.id as cart_id, cart_.currency as cart_currency, product_.*,
           coalesce((select i.quantity from cart_item i
                     where i.cart_id = cart_.id and i.product_id = product_.product_id
                       and i.variant_id is not distinct from product_.variant_id), 0) as in_cart,
           (select count(*) from cart_item i where i.cart_id = cart_.id) as lines,
           (select coalesce(sum(i.quantity), 0) from cart_item i
            where i.cart_id = cart_.id and i.product_id = product_.product_id) as product_in_cart,
           (select i.product_id from cart_item i join product q on q.id = i.product_id
            where i.cart_id = cart_.id and q.exclusive_group = product_.exclusive_group
              and i.product_id <> product_.product_id
            limit 1) as conflicts_with,
           (select coalesce(sum(coalesce(v2.price, p2.price)::numeric * i.quantity), 0)
            from cart_item i join product p2 on p2.id = i.product_id
            left join product_variant v2 on v2.id = i.variant_id
            where i.cart_id = cart_.id) as cart_value
    from cart_, product_
),
checked as (
    -- the first rule the add would break, in the order a shopper should hear about them
    select *,
           case
               when requires_auth and %(is_guest)s::boolean then 'requires_auth'
               when cart_currency <> currency then 'currency'
               when conflicts_with is not null then 'incompatible'
               when in_cart + adding > max_line then 'line'
               when in_cart = 0 and lines >= %(max_lines)s::int then 'lines'
               when product_in_cart + adding > max_per_customer then 'per_customer'
               when cart_value + price::numeric * adding > %(max_value)s::bigint then 'value'
               when in_cart + adding > stock then 'stock'
           end as refused
    from wanted
),
line as (
    insert into cart_item (cart_id, product_id, variant_id, quantity, price_at_add, selected_attributes)
    select cart_id, product_id, variant_id, adding, price, attributes
    from checked
    where (variant_id is not null) = has_variants and refused is null
    on conflict on constraint cart_item_line do update
    set quantity = cart_item.quantity + excluded.quantity,
        price_at_add = excluded.price_at_add,
        selected_attributes = cart_item.selected_attributes || excluded.selected_attributes,
        updated_at = now()
    returning id
)"""
        + after_line
        + """
select case"""
        + first_check
        + """
    when not exists (select 1 from product_) then
        raise_problem('product_not_found', (select jsonb_build_object('productId', product_id) from request_))
    when (select variant_id from request_) is not null and (select variant_id from product_) is null then
        raise_problem('product_not_found', (select jsonb_build_object(
            'productId', product_id, 'variantId', variant_id) from request_))
    when (select variant_id from request_) is null and (select has_variants from product_) then
        raise_problem('variant_required', (select jsonb_build_object('productId', product_id) from request_))
    when exists (select 1 from line) then 0
    else (select case refused
        when 'requires_auth' then raise_problem('restricted', jsonb_build_object(
            'reason', 'requires_auth', 'productId', product_id))
        when 'currency' then raise_problem('currency_mismatch', jsonb_build_object(
            'cartCurrency', cart_currency, 'productCurrency', currency))
        when 'incompatible' then raise_problem('incompatible', jsonb_build_object(
            'productId', product_id, 'conflictsWith', conflicts_with, 'group', exclusive_group))
        when 'line' then raise_problem('limit_exceeded', jsonb_build_object(
            'limit', 'maxQuantityPerLine', 'allowed', max_line, 'inCart', in_cart))
        when 'lines' then raise_problem('limit_exceeded', jsonb_build_object(
            'limit', 'maxLinesPerCart', 'allowed', %(max_lines)s::int))
        when 'per_customer' then raise_problem('restricted', jsonb_build_object(
            'reason', 'max_per_customer', 'productId', product_id, 'allowed', max_per_customer,
            'inCart', product_in_cart))
        when 'value' then raise_problem('limit_exceeded', jsonb_build_object(
            'limit', 'maxCartValue', 'allowed', %(max_value)s::bigint, 'cartValue', cart_value))
        else raise_problem('insufficient_stock', jsonb_build_object('maxAvailable', stock, 'inCart', in_cart))
    end from checked)
end as outcome
"""
    )


ADD_LINE = _add_line(_ADD_REQUEST)

SET_QUANTITY = (
    """
with line as (
    select i.id, i.quantity, coalesce(v.stock, p.stock) as stock, coalesce(v.price, p.price) as price,
           """
    + _MAX_LINE
    + """ as max_line,
           p.active and coalesce(v.active, true) as active,
           p.max_per_customer,
           (select coalesce(sum(o.quantity), 0) from cart_item o
            where o.cart_id = c.id and o.product_id = i.product_id) as product_in_cart,
           (select coalesce(sum(coalesce(v2.price, p2.price)::numeric * o.quantity), 0)
            from cart_item o join product p2 on p2.id = o.product_id
            left join product_variant v2 on v2.id = o.variant_id
            where o.cart_id = c.id) as cart_value
    from cart c
    join cart_item i on i.cart_id = c.id and i.id = %(item_id)s::uuid
    join product p on p.id = i.product_id
    left join product_variant v on v.id = i.variant_id
    where c.{owner_col} = %(owner)s and c.status = 'active'
),
checked as (
    select *,
           case
               when not active then 'unavailable'
               when %(quantity)s::int > max_line then 'line'
               when product_in_cart - quantity + %(quantity)s::int > max_per_customer then 'per_customer'
               when %(quantity)s::int > quantity
                    and cart_value + price::numeric * (%(quantity)s::int - quantity) > %(max_value)s::bigint
                   then 'value'
               when %(quantity)s::int > stock then 'stock'
           end as refused
    from line
),
changed as (
    update cart_item i set quantity = %(quantity)s::int, updated_at = now()
    from checked
    where i.id = checked.id and checked.refused is null
    returning i.id
)
select case
    when not exists (select 1 from line) then
        raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
    when exists (select 1 from changed) then 0
    else (select case refused
        when 'unavailable' then raise_problem('product_unavailable', jsonb_build_object('itemId', %(item_id)s::text))
        when 'line' then raise_problem('limit_exceeded', jsonb_build_object(
            'limit', 'maxQuantityPerLine', 'allowed', max_line))
        when 'per_customer' then raise_problem('restricted', jsonb_build_object(
            'reason', 'max_per_customer', 'allowed', max_per_customer, 'inCart', product_in_cart))
        when 'value' then raise_problem('limit_exceeded', jsonb_build_object(
            'limit', 'maxCartValue', 'allowed', %(max_value)s::bigint, 'cartValue', cart_value))
        else raise_problem('insufficient_stock', jsonb_build_object('maxAvailable', stock))
    end from checked)
end as outcome
"""
)

# Switching a line to another variant of its product; when the cart already has a line of that
# variant, this line is folded into it (quantities added) so there is still one line per variant.
SWITCH_VARIANT = (
    """
with line as (
    select i.id, i.cart_id, i.product_id, i.quantity
    from cart c
    join cart_item i on i.cart_id = c.id and i.id = %(item_id)s::uuid
    where c.{owner_col} = %(owner)s and c.status = 'active'
),
target as (
    select v.id as variant_id, coalesce(v.price, p.price) as price, v.stock,
           """
    + _MAX_LINE
    + """ as max_line
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
           coalesce(%(quantity)s::int, line.quantity) + coalesce((select quantity from other), 0) as total,
           (select coalesce(sum(o.quantity), 0) from cart_item o
            where o.cart_id = line.cart_id and o.product_id = line.product_id)
               - line.quantity + coalesce(%(quantity)s::int, line.quantity) as product_total,
           (select max_per_customer from product where id = line.product_id) as max_per_customer
    from line, target
),
moved as (
    update cart_item i
    set variant_id = w.variant_id, price_at_add = w.price, quantity = w.total, updated_at = now()
    from wanted w
    where i.id = w.id and not exists (select 1 from other) and w.total <= least(w.max_line, w.stock)
      and (w.max_per_customer is null or w.product_total <= w.max_per_customer)
    returning i.id
),
folded as (
    update cart_item i set quantity = w.total, updated_at = now()
    from wanted w, other o
    where i.id = o.id and w.total <= least(w.max_line, w.stock)
      and (w.max_per_customer is null or w.product_total <= w.max_per_customer)
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
    when (select product_total > max_per_customer from wanted) then
        raise_problem('restricted', (select jsonb_build_object(
            'reason', 'max_per_customer', 'allowed', max_per_customer) from wanted))
    else
        raise_problem('insufficient_stock', (select jsonb_build_object('maxAvailable', stock) from wanted))
end as outcome
"""
)

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


def _change(
    conn: psycopg.Connection, owner: Owner, first: Statement, change: Statement, *, creates: bool = False
) -> CartRows:
    results = pipeline(conn, [*([_lock_owner(owner)] if creates else []), first, change, *_views(owner)])
    return CartRows(*results[-3:])


def _touched_change(
    conn: psycopg.Connection, owner: Owner, statement: str, *, ttl_days: int, expected: int | None, **params: Any
) -> CartRows:
    """A change to an existing cart: TOUCH_CART (lock, version, expiry, If-Match), ``statement``
    with ``params``, the views: one round trip."""
    touch = _q(TOUCH_CART, owner), _params(owner, ttl_days=ttl_days, expected=expected)
    return _change(conn, owner, touch, (_q(statement, owner), _params(owner, **params)))


def _ensure_cart(
    owner: Owner, product_id: UUID | None, *, ttl_days: int, default_currency: str, expected: int | None
) -> Statement:
    """ENSURE_CART for a change that may create the cart (in ``product_id``'s currency, if any)."""
    return _q(ENSURE_CART, owner), _params(
        owner, product_id=product_id, ttl_days=ttl_days, default_currency=default_currency, expected=expected
    )


def cart_rows(conn: psycopg.Connection, owner: Owner) -> CartRows:
    return CartRows(*pipeline(conn, _views(owner)))


def add_line(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    product_id: UUID,
    variant_id: UUID | None,
    quantity: int,
    attributes: dict[str, Any],
    limits: Limits,
    ttl_days: int,
    default_currency: str,
    expected: int | None = None,
) -> list[Row]:
    ensure = _ensure_cart(owner, product_id, ttl_days=ttl_days, default_currency=default_currency, expected=expected)
    add = (
        _q(ADD_LINE, owner),
        _params(
            owner,
            product_id=product_id,
            variant_id=variant_id,
            quantity=quantity,
            attributes=Jsonb(attributes),
            is_guest=owner.kind == "guest",
            **limits.params(),
        ),
    )
    return _change(conn, owner, ensure, add, creates=True)


def set_quantity(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    item_id: UUID,
    quantity: int,
    limits: Limits,
    ttl_days: int,
    expected: int | None = None,
) -> list[Row]:
    return _touched_change(
        conn, owner, SET_QUANTITY, ttl_days=ttl_days, expected=expected,
        item_id=item_id, quantity=quantity, **limits.params(),
    )  # fmt: skip


def switch_variant(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    item_id: UUID,
    variant_id: UUID,
    quantity: int | None,
    limits: Limits,
    ttl_days: int,
    expected: int | None = None,
) -> list[Row]:
    return _touched_change(
        conn, owner, SWITCH_VARIANT, ttl_days=ttl_days, expected=expected,
        item_id=item_id, variant_id=variant_id, quantity=quantity, **limits.params(),
    )  # fmt: skip


def remove_line(
    conn: psycopg.Connection, owner: Owner, *, item_id: UUID, ttl_days: int, expected: int | None = None
) -> list[Row]:
    return _touched_change(conn, owner, REMOVE_LINE, ttl_days=ttl_days, expected=expected, item_id=item_id)


def clear_lines(conn: psycopg.Connection, owner: Owner, *, ttl_days: int, expected: int | None = None) -> list[Row]:
    return _touched_change(conn, owner, CLEAR_LINES, ttl_days=ttl_days, expected=expected)


# Whoever may create an owner's active cart (a first add; a merge adopting a guest cart for a
# user) first takes this lock on the owner's key, so two creators queue up instead of deadlocking
# on the unique index that allows one active cart per owner.
LOCK_OWNER = "select pg_advisory_xact_lock(hashtextextended(%(lock_key)s, 0))"


def _lock_owner(owner: Owner) -> Statement:
    return LOCK_OWNER, {"lock_key": f"cart:{owner.kind}:{owner.key}"}


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
MERGE_CARTS = (
    """
with guest as (
    select id, currency from cart where session_id = %(guest)s and status = 'active'
),
usr as (
    select id, currency from cart where user_id = %(user)s and status = 'active'
),
adopted as (
    update cart c
    set user_id = %(user)s, session_id = null, adopted_from_session = %(guest)s, version = c.version + 1,
        expires_at = greatest(c.expires_at, now() + %(user_ttl)s::float8 * interval '1 day'),
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
           """
    + _MAX_LINE
    + """ as max_line,
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
-- replace: the guest cart takes the user's cart's place only if at least one of its lines can be
-- carried over; a guest cart whose every line is skipped leaves the user's cart as it was
replacing as (
    select %(strategy)s = 'replace' and exists (select 1 from decided where final > 0) as yes
),
removed as (
    delete from cart_item ui using usr, replacing
    where replacing.yes and ui.cart_id = usr.id
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
-- saved-for-later items come along too; one both carts saved keeps the larger quantity
saved_moved as (
    insert into saved_item (cart_id, product_id, variant_id, quantity, price_at_save, stock_at_save,
                            selected_attributes, saved_at)
    select u.id, s.product_id, s.variant_id, s.quantity, s.price_at_save, s.stock_at_save,
           s.selected_attributes, s.saved_at
    from guest g join usr u on true join saved_item s on s.cart_id = g.id
    on conflict on constraint saved_item_line do update
    set quantity = greatest(saved_item.quantity, excluded.quantity)
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
        expires_at = greatest(c.expires_at, now() + %(user_ttl)s::float8 * interval '1 day')
    from usr u
    where c.id = u.id and exists (select 1 from guest)
    returning c.id
)
select
    case
        when exists (select 1 from adopted) then 'adopted'
        when exists (select 1 from marked) then 'merged'
        when exists (select 1 from cart where session_id = %(guest)s and status = 'merged')
          or exists (select 1 from cart where adopted_from_session = %(guest)s) then 'already_merged'
        else 'nothing_to_merge'
    end as outcome,
    case
        when exists (select 1 from adopted) then (
            select coalesce(jsonb_agg(jsonb_build_object(
                'productId', gi.product_id, 'variantId', gi.variant_id, 'guestQuantity', gi.quantity,
                'userQuantity', 0, 'quantity', gi.quantity, 'carried', true, 'userHadLine', false,
                'reason', null)), '[]'::jsonb)
            from guest g join cart_item gi on gi.cart_id = g.id)
        else (
            -- quantity: what the user's cart holds now (a skipped line the user had is kept, unless
            -- a replace removed it)
            select coalesce(jsonb_agg(jsonb_build_object(
                'productId', product_id, 'variantId', variant_id, 'guestQuantity', quantity,
                'userQuantity', user_quantity,
                'quantity', case
                    when final > 0 then final
                    when user_item_id is not null and not replacing.yes then user_quantity
                    else 0
                end,
                'carried', final > 0, 'wanted', wanted,
                'userHadLine', user_item_id is not null, 'reason', reason)), '[]'::jsonb)
            from decided, replacing)
    end as lines,
    (select coalesce(jsonb_agg(jsonb_build_object(
        'productId', product_id, 'variantId', variant_id, 'quantity', quantity)), '[]'::jsonb)
     from removed) as removed,
    (select count(*) from written) as written
"""
)


def merge_carts(
    conn: psycopg.Connection,
    user: Owner,
    guest: Owner,
    *,
    strategy: str,
    limits: Limits,
    user_ttl_days: int,
) -> tuple[Row, list[Row]]:
    """Merge ``guest``'s cart into ``user``'s; return the merge outcome row and the user's cart."""
    params = {"user": user.key, "guest": guest.key, "strategy": strategy, "user_ttl": user_ttl_days, **limits.params()}
    _, _, (outcome,), *views = pipeline(
        conn, [_lock_owner(user), (LOCK_MERGE_CARTS, params), (MERGE_CARTS, params), *_views(user)]
    )
    return outcome, CartRows(*views)


# --- saved for later and sync ----------------------------------------------------------------------

# Step 2 of saving a line for later: the line leaves the cart and joins the saved list (folded into
# a saved item of the same product+variant) with the price and stock it has now, which the cart
# view compares with the current ones (priceDropped, backInStock).
SAVE_LINE = """
with line as (
    select i.id, i.cart_id, i.product_id, i.variant_id, i.quantity, i.selected_attributes,
           coalesce(v.price, p.price) as price, coalesce(v.stock, p.stock) as stock
    from cart c
    join cart_item i on i.cart_id = c.id and i.id = %(item_id)s::uuid
    join product p on p.id = i.product_id
    left join product_variant v on v.id = i.variant_id
    where c.{owner_col} = %(owner)s and c.status = 'active'
),
moved as (
    delete from cart_item i using line where i.id = line.id
),
saved as (
    insert into saved_item (cart_id, product_id, variant_id, quantity, price_at_save, stock_at_save,
                            selected_attributes)
    select cart_id, product_id, variant_id, quantity, price, stock, selected_attributes from line
    on conflict on constraint saved_item_line do update
    set quantity = saved_item.quantity + excluded.quantity,
        price_at_save = excluded.price_at_save,
        stock_at_save = excluded.stock_at_save,
        selected_attributes = saved_item.selected_attributes || excluded.selected_attributes,
        saved_at = now()
    returning id
)
select case
    when exists (select 1 from saved) then 0
    else raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
end as outcome
"""


# Step 2 of restoring a saved item: an add of the saved item's product, variant, quantity and
# attributes, which deletes the saved item once its line is written (a refused restore leaves it
# where it was).
RESTORE_SAVED = _add_line(
    """request_ as (
    select s.id as saved_id, s.product_id, s.variant_id, s.quantity, s.selected_attributes as attributes
    from cart c join saved_item s on s.cart_id = c.id and s.id = %(saved_id)s::uuid
    where c.{owner_col} = %(owner)s and c.status = 'active'
)""",
    after_line=""",
restored as (
    delete from saved_item s using request_ r where s.id = r.saved_id and exists (select 1 from line)
)""",
    first_check="""
    when not exists (select 1 from request_) then
        raise_problem('saved_item_not_found', jsonb_build_object('savedId', %(saved_id)s::text))""",
)


def save_line(
    conn: psycopg.Connection, owner: Owner, *, item_id: UUID, ttl_days: int, expected: int | None = None
) -> CartRows:
    return _touched_change(conn, owner, SAVE_LINE, ttl_days=ttl_days, expected=expected, item_id=item_id)


def restore_saved(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    saved_id: UUID,
    limits: Limits,
    ttl_days: int,
    expected: int | None = None,
) -> CartRows:
    return _touched_change(
        conn, owner, RESTORE_SAVED, ttl_days=ttl_days, expected=expected,
        saved_id=saved_id, is_guest=owner.kind == "guest", **limits.params(),
    )  # fmt: skip


# Step 2 of a client sync (step 1 is ENSURE_CART: a guest syncing before any add gets a cart).
# Every product+variant either side holds becomes one row: the server's lines first, in cart order,
# then the client's new ones, in the order sent. The strategy gives the quantity wanted; a line
# keeps at least min(server, wanted) (a sync lowers or removes a line only when the strategy says
# so, never because of a cap), and only what it would gain above that is capped, by the rules of an
# add: the line's own (unknown or inactive product, restricted, currency, stock, per-line maximum),
# and the limits lines share (an exclusive group, the product's max_per_customer across its
# variants, the cart's line and value limits), which the rows take from in turn.
# Returns every row where the client and the server disagreed, or where the result is not what the
# client held, with the quantity it got and the first cap that bound it.
SYNC_LINES = (
    """
with recursive cart_ as (
    select c.id, c.currency from cart c where c.{owner_col} = %(owner)s and c.status = 'active'
),
client as (
    select x.product_id, x.variant_id, x.quantity, x.ord
    from rows from (jsonb_to_recordset(%(items)s::jsonb) as (product_id uuid, variant_id uuid, quantity int))
         with ordinality as x(product_id, variant_id, quantity, ord)
),
keys as (
    select i.id as item_id, i.product_id, i.variant_id, i.quantity as server_qty,
           coalesce(k.quantity, 0) as client_qty, false as new_line,
           row_number() over (order by i.created_at, i.id) as ord
    from cart_
    join cart_item i on i.cart_id = cart_.id
    left join client k on k.product_id = i.product_id and k.variant_id is not distinct from i.variant_id
    union all
    select null, k.product_id, k.variant_id, 0, k.quantity, true, k.ord
    from client k
    where not exists (select 1 from cart_ join cart_item i on i.cart_id = cart_.id
                      where i.product_id = k.product_id and i.variant_id is not distinct from k.variant_id)
),
lines as (
    select keys.*, p.currency, p.exclusive_group, p.max_per_customer,
           coalesce(v.price, p.price) as price,
           greatest(0, least(coalesce(v.stock, p.stock), """
    + _MAX_LINE
    + """)) as line_cap,
           coalesce(v.stock, p.stock) as stock, """
    + _MAX_LINE
    + """ as max_line,
           case %(strategy)s
               when 'sum' then server_qty + client_qty
               when 'max' then greatest(server_qty, client_qty)
               else client_qty
           end as wanted,
           case
               when p.id is null or (keys.variant_id is not null and v.id is null) then 'product_not_found'
               when keys.variant_id is null
                    and exists (select 1 from product_variant x where x.product_id = p.id) then 'variant_required'
               when not (p.active and coalesce(v.active, true)) then 'unavailable'
               when p.requires_auth and %(is_guest)s::boolean then 'requires_auth'
           end as refused
    from keys
    left join product p on p.id = keys.product_id
    left join product_variant v on v.id = keys.variant_id and v.product_id = keys.product_id
),
based as (
    select lines.*, least(server_qty, wanted) as base from lines
),
-- a cart left with no line takes the currency of the first line it can be given (as an add does)
currency_ as (
    select coalesce(
        (select currency from cart_ where exists (select 1 from based where base > 0)),
        (select currency from based where refused is null and wanted > 0 order by new_line, ord limit 1),
        (select currency from cart_)
    ) as currency
),
checked as (
    select b.*, row_number() over (order by b.new_line, b.ord) as n,
           coalesce(b.refused, case when b.currency <> currency_.currency then 'currency_mismatch' end) as refusal
    from based b, currency_
),
-- what every line keeps is spoken for before any line gains: per product, exclusive groups, lines, value
kept as (
    select coalesce((select jsonb_object_agg(product_id, quantity)
                     from (select product_id, sum(base) as quantity from checked group by product_id) p),
                    '{{}}'::jsonb) as per_product,
           coalesce(jsonb_object_agg(exclusive_group, product_id)
                        filter (where base > 0 and exclusive_group is not null), '{{}}'::jsonb) as groups,
           count(*) filter (where base > 0) as lines,
           coalesce(sum(base * price::numeric), 0) as value  -- numeric: it may not fit in bigint
    from checked
),
-- then each row in turn gains what its own caps allow and what is left of each shared limit (no
-- limit is null: least() ignores it)
filled as (
    select 0::bigint as n, per_product, groups, lines, value, 0::bigint as gain, null::text as reason from kept
    union all
    select c.n,
           case when g.gain > 0
                then jsonb_set(f.per_product, array[c.product_id::text],
                               to_jsonb(coalesce((f.per_product ->> c.product_id::text)::bigint, 0) + g.gain))
                else f.per_product end,
           case when g.gain > 0 and c.exclusive_group is not null
                then f.groups || jsonb_build_object(c.exclusive_group, c.product_id) else f.groups end,
           f.lines + case when g.gain > 0 and c.base = 0 then 1 else 0 end,
           f.value + g.gain * c.price::numeric,
           g.gain, g.reason
    from filled f
    join checked c on c.n = f.n + 1
    cross join lateral (
        select coalesce(c.refusal, case when f.groups ->> c.exclusive_group <> c.product_id::text
                                        then 'incompatible' end) as blocked
    ) b
    cross join lateral (
        select case when b.blocked is null then greatest(0, least(c.wanted, c.line_cap) - c.base) else 0 end as line,
               c.max_per_customer - coalesce((f.per_product ->> c.product_id::text)::bigint, 0) as per_product,
               case when c.base = 0 and f.lines >= %(max_lines)s::int then 0 end as lines,
               case when c.price > 0 then floor((%(max_value)s::bigint - f.value) / c.price) end as value
    ) cap
    cross join lateral (
        select greatest(0, least(cap.line, cap.per_product, cap.lines, cap.value))::bigint as gain
    ) x
    cross join lateral (
        select x.gain, case
            when c.base + x.gain >= c.wanted then null
            when b.blocked is not null then b.blocked
            when c.base + cap.line < c.wanted then
                case when c.wanted > c.max_line and c.max_line <= c.stock then 'max_quantity_per_line'
                     when c.stock <= 0 then 'out_of_stock'
                     else 'insufficient_stock' end
            when cap.per_product <= x.gain then 'max_per_customer'
            when cap.lines <= x.gain then 'max_lines_per_cart'
            else 'max_cart_value'
        end as reason
    ) g
),
resolved as (
    select c.*, c.base + f.gain as resolved, f.reason from checked c join filled f on f.n = c.n
),
removed as (
    delete from cart_item i using resolved r where i.id = r.item_id and r.resolved = 0
),
changed as (
    update cart_item i set quantity = r.resolved, updated_at = now()
    from resolved r
    where i.id = r.item_id and r.resolved > 0 and r.resolved <> r.server_qty
),
added as (
    insert into cart_item (cart_id, product_id, variant_id, quantity, price_at_add)
    select cart_.id, r.product_id, r.variant_id, r.resolved, r.price
    from resolved r, cart_
    where r.item_id is null and r.resolved > 0
),
recurrency as (
    update cart c set currency = currency_.currency
    from cart_, currency_
    where c.id = cart_.id and c.currency <> currency_.currency
)
select coalesce(jsonb_agg(jsonb_build_object(
           'productId', product_id, 'variantId', variant_id, 'clientQuantity', client_qty,
           'serverQuantity', server_qty, 'resolved', resolved, 'reason', reason
       ) order by new_line, ord) filter (where client_qty <> server_qty or resolved <> client_qty), '[]'::jsonb)
       as conflicts
from resolved
"""
)


def sync_lines(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    items: list[dict[str, Any]],  # product_id, variant_id, quantity
    strategy: str,
    limits: Limits,
    ttl_days: int,
    default_currency: str,
    expected: int | None = None,
) -> tuple[list[Row], CartRows]:
    """One round trip: the owner's cart locked (created for a guest's first sync), the client's
    lines merged in by ``strategy``; returns the conflicts and the cart."""
    ensure = _ensure_cart(owner, None, ttl_days=ttl_days, default_currency=default_currency, expected=expected)
    sync = (
        _q(SYNC_LINES, owner),
        _params(
            owner,
            items=Jsonb(items),
            strategy=strategy,
            is_guest=owner.kind == "guest",
            **limits.params(),
        ),
    )
    _, _, (row,), *views = pipeline(conn, [_lock_owner(owner), ensure, sync, *_views(owner)])
    return row["conflicts"], CartRows(*views)


# --- discount codes ------------------------------------------------------------------------------

# Step 2 of applying a code: the rules that hold when it is applied (known, active, in its window,
# uses left, minimum subtotal at current prices, currency); later the totals re-check them.
APPLY_DISCOUNT = """
with c as (
    select id, currency from cart where {owner_col} = %(owner)s and status = 'active'
),
d as (
    select * from discount_code where code = upper(%(code)s)
),
subtotal as (
    select coalesce(sum(coalesce(v.price, p.price)::numeric * i.quantity), 0) as amount
    from c join cart_item i on i.cart_id = c.id
    join product p on p.id = i.product_id left join product_variant v on v.id = i.variant_id
),
checked as (
    select d.code, case
        when not d.active then 'inactive'
        when d.starts_at is not null and now() < d.starts_at then 'not_yet_valid'
        when d.ends_at is not null and now() >= d.ends_at then 'expired'
        when d.usage_limit is not null and d.times_used >= d.usage_limit then 'usage_limit_reached'
        when (select amount from subtotal) < d.min_subtotal then 'minimum_not_met'
        when d.kind = 'fixed' and d.currency <> c.currency then 'currency_mismatch'
    end as refused, d.min_subtotal
    from d, c
),
applied as (
    insert into cart_discount (cart_id, code)
    select c.id, checked.code from c, checked where checked.refused is null
    on conflict do nothing
    returning 1
)
select case
    when not exists (select 1 from c) then raise_problem('cart_empty')
    when not exists (select 1 from d) then
        raise_problem('discount_code_invalid', jsonb_build_object('discountCode', upper(%(code)s), 'reason', 'unknown'))
    when (select refused from checked) is not null then
        raise_problem('discount_code_invalid', (select jsonb_build_object(
            'discountCode', code, 'reason', refused, 'minSubtotal', min_subtotal) from checked))
    else 0
end as outcome
"""

REMOVE_DISCOUNT = """
with removed as (
    delete from cart_discount cd using cart c
    where cd.cart_id = c.id and c.{owner_col} = %(owner)s and c.status = 'active' and cd.code = upper(%(code)s)
    returning 1
)
select case when exists (select 1 from removed) then 0
    else raise_problem('discount_code_not_applied', jsonb_build_object('discountCode', upper(%(code)s))) end as outcome
"""


def apply_discount(
    conn: psycopg.Connection, owner: Owner, *, code: str, ttl_days: int, expected: int | None = None
) -> CartRows:
    return _touched_change(conn, owner, APPLY_DISCOUNT, ttl_days=ttl_days, expected=expected, code=code)


def remove_discount(
    conn: psycopg.Connection, owner: Owner, *, code: str, ttl_days: int, expected: int | None = None
) -> CartRows:
    return _touched_change(conn, owner, REMOVE_DISCOUNT, ttl_days=ttl_days, expected=expected, code=code)


# --- idempotency keys --------------------------------------------------------------------------

# Claims the key for this request, or stops the transaction when it was already used (and has
# not expired): the caller then answers the stored response.
CLAIM_IDEMPOTENCY_KEY = """
with claimed as (
    insert into idempotency_key (owner, key, request_hash) values (%(owner)s, %(key)s, %(hash)s)
    on conflict (owner, key) do update
    set request_hash = excluded.request_hash, response = null, created_at = now(),
        expires_at = now() + interval '24 hours'
    where idempotency_key.expires_at <= now()
    returning 1
)
select case when exists (select 1 from claimed) then 0 else raise_problem('idempotency_replay') end as outcome
"""

SAVE_IDEMPOTENT_RESPONSE = """
update idempotency_key set response = %(response)s where owner = %(owner)s and key = %(key)s
"""

IDEMPOTENT_RESPONSE = """
select request_hash, response from idempotency_key
where owner = %(owner)s and key = %(key)s and expires_at > now()
"""


def claim_idempotency_key(scope: str, key: str, request_hash: str) -> Statement:
    return CLAIM_IDEMPOTENCY_KEY, {"owner": scope, "key": key, "hash": request_hash}


def save_idempotent_response(scope: str, key: str, response: dict[str, Any]) -> Statement:
    return SAVE_IDEMPOTENT_RESPONSE, {"owner": scope, "key": key, "response": Jsonb(response)}


def idempotent_response(conn: psycopg.Connection, *, scope: str, key: str) -> Row | None:
    rows = pipeline(conn, [(IDEMPOTENT_RESPONSE, {"owner": scope, "key": key})])[0]
    return rows[0] if rows else None


# --- checkout ---------------------------------------------------------------------------------

# Stock other carts hold: the lines of open, unexpired checkouts of other carts.
_HELD_BY_OTHERS = """coalesce((
    select sum(r.quantity) from reservation r join checkout k on k.id = r.checkout_id
    where k.status = 'open' and k.expires_at > now() and k.cart_id <> {cart}
      and r.product_id = {product} and r.variant_id is not distinct from {variant}), 0)"""

# Each line of the owner's cart with what checkout needs to know about it now.
_READINESS = (
    """
lines as (
    select i.id as item_id, i.cart_id, i.product_id, i.variant_id, i.quantity, i.price_at_add,
           coalesce(v.price, p.price) as unit_price,
           p.active and coalesce(v.active, true) as active,
           coalesce(v.stock, p.stock) - """
    + _HELD_BY_OTHERS.format(cart="i.cart_id", product="i.product_id", variant="i.variant_id")
    + """ as available,
           """
    + _MAX_LINE
    + """ as max_line,
           exists (select 1 from product_variant x where x.product_id = p.id) as has_variants,
           i.created_at
    from cart c
    join cart_item i on i.cart_id = c.id
    join product p on p.id = i.product_id
    left join product_variant v on v.id = i.variant_id
    where c.{owner_col} = %(owner)s and c.status = 'active'
)"""
)

VALIDATE_CART = (
    """
with"""
    + _READINESS
    + """
select l.*,
       case when l.has_variants and (not l.active or l.available < l.quantity) then (
           select coalesce(jsonb_agg(jsonb_build_object(
               'variantId', a.id, 'sku', a.sku, 'attributes', a.attributes,
               'unitPrice', coalesce(a.price, p.price), 'available', a.available) order by a.sku), '[]'::jsonb)
           from (select x.*, x.stock - """
    + _HELD_BY_OTHERS.format(cart="l.cart_id", product="x.product_id", variant="x.id")
    + """ as available
                 from product_variant x where x.product_id = l.product_id and x.active
                   and x.id is distinct from l.variant_id) a
           join product p on p.id = a.product_id
           where a.available > 0)
       end as alternatives
from lines l
order by l.created_at, l.item_id
"""
)

# Checkout steps 1-3: the cart, then the catalog rows its lines draw on, locked in one global order
# (variants, then products, each by id) so that two checkouts racing for the last unit queue up:
# the second sees the first's reservation.
LOCK_CART = "select id from cart where {owner_col} = %(owner)s and status = 'active' for update"
LOCK_VARIANTS = """
select v.id from product_variant v
where v.id in (select i.variant_id from cart c join cart_item i on i.cart_id = c.id
               where c.{owner_col} = %(owner)s and c.status = 'active')
order by v.id for update
"""
LOCK_PRODUCTS = """
select p.id from product p
where p.id in (select i.product_id from cart c join cart_item i on i.cart_id = c.id
               where c.{owner_col} = %(owner)s and c.status = 'active' and i.variant_id is null)
order by p.id for update
"""
# Checkout step 4: the previous checkout released, and If-Match checked (the shopper checks out the
# cart they reviewed); the cart is locked since step 1, so its version cannot move meanwhile.
RELEASE_OPEN_CHECKOUT = (
    "with"
    + _RELEASE_CHECKOUT
    + "\n"
    + _if_match(
        "exists (select 1 from cart where {owner_col} = %(owner)s and status = 'active'"
        " and version = %(expected)s::int)"
    )
)
ACCEPT_CURRENT_PRICES = """
update cart_item i set price_at_add = coalesce(v.price, p.price), updated_at = now()
from cart c, product p left join product_variant v on v.product_id = p.id
where i.cart_id = c.id and c.{owner_col} = %(owner)s and c.status = 'active' and p.id = i.product_id
  and v.id is not distinct from i.variant_id and i.price_at_add <> coalesce(v.price, p.price)
"""
# Reserves every line when every line is ready; otherwise writes nothing (the readiness rows,
# fetched in the same round trip, say why).
RESERVE_STOCK = (
    """
with"""
    + _READINESS
    + """,
opened as (
    insert into checkout (cart_id, expires_at)
    select c.id, now() + make_interval(mins => %(minutes)s::int)
    from cart c
    where c.{owner_col} = %(owner)s and c.status = 'active'
      and exists (select 1 from lines)
      and not exists (select 1 from lines
                      where not active or quantity > available or quantity > max_line or unit_price <> price_at_add)
    returning id, expires_at
),
reserved as (
    insert into reservation (checkout_id, product_id, variant_id, quantity)
    select o.id, l.product_id, l.variant_id, l.quantity from opened o, lines l
    returning 1
)
select o.id as checkout_id, o.expires_at, (select count(*) from reserved) as lines from opened o
"""
)


def validate_cart(conn: psycopg.Connection, owner: Owner, *, limits: Limits) -> tuple[list[Row], list[Row]]:
    """The readiness of every line, and the cart."""
    readiness, *views = pipeline(conn, [(_q(VALIDATE_CART, owner), _params(owner, **limits.params())), *_views(owner)])
    return readiness, CartRows(*views)


def reserve_stock(
    conn: psycopg.Connection,
    owner: Owner,
    *,
    limits: Limits,
    minutes: int,
    accept_prices: bool,
    expected: int | None = None,
) -> tuple[list[Row], list[Row], list[Row]]:
    """One round trip: lock, release the old checkout and check If-Match, (accept prices), reserve;
    return the opened checkout (none when a line is not ready), each line's readiness, and the cart."""
    params = _params(owner, minutes=minutes, expected=expected, **limits.params())
    statements: list[Statement] = [
        (_q(LOCK_CART, owner), params),
        (_q(LOCK_VARIANTS, owner), params),
        (_q(LOCK_PRODUCTS, owner), params),
        (_q(RELEASE_OPEN_CHECKOUT, owner), params),
    ]
    if accept_prices:
        statements.append((_q(ACCEPT_CURRENT_PRICES, owner), params))
    statements += [
        (_q(RESERVE_STOCK, owner), params),
        (_q(VALIDATE_CART, owner), params),
        *_views(owner),
    ]
    *_, opened, readiness, lines, saved, discounts = pipeline(conn, statements)
    return opened, readiness, CartRows(lines, saved, discounts)


# Completing a checkout (the order service, after payment): the stock the checkout holds becomes
# sold, the cart is converted (and recovered, when it had been marked abandoned).
LOCK_CHECKOUT = "select id from checkout where id = %(checkout_id)s::uuid for update"
LOCK_RESERVED_VARIANTS = """
select v.id from product_variant v
where v.id in (select variant_id from reservation where checkout_id = %(checkout_id)s::uuid)
order by v.id for update
"""
LOCK_RESERVED_PRODUCTS = """
select p.id from product p
where p.id in (select product_id from reservation where checkout_id = %(checkout_id)s::uuid and variant_id is null)
order by p.id for update
"""
COMPLETE_CHECKOUT = """
with k as (
    select * from checkout where id = %(checkout_id)s::uuid and status = 'open' and expires_at > now()
),
sold_variants as (
    update product_variant v set stock = greatest(0, v.stock - r.quantity), updated_at = now()
    from reservation r, k
    where r.checkout_id = k.id and r.variant_id = v.id
    returning v.id
),
sold_products as (
    update product p set stock = greatest(0, p.stock - r.quantity), updated_at = now()
    from reservation r, k
    where r.checkout_id = k.id and r.variant_id is null and r.product_id = p.id
    returning p.id
),
completed as (
    update checkout set status = 'completed', completed_at = now() from k where checkout.id = k.id
    returning checkout.id, checkout.cart_id
),
sold as (
    -- the reserved stock is now sold (the updates above read these rows in this statement's snapshot)
    delete from reservation r using k where r.checkout_id = k.id
),
used as (
    update discount_code d set times_used = d.times_used + 1
    from completed, cart_discount cd
    where cd.cart_id = completed.cart_id and cd.code = d.code
    returning 1
),
converted as (
    update cart c
    set status = 'converted', updated_at = now(), abandoned_at = null,
        recovered_at = coalesce(c.recovered_at, case when c.abandoned_value is not null then now() end)
    from completed
    where c.id = completed.cart_id
    returning c.id, c.user_id, c.recovered_at is not null as recovered
)
select case
    when exists (select 1 from converted) then 0
    when exists (select 1 from checkout where id = %(checkout_id)s::uuid) then
        raise_problem('checkout_expired', jsonb_build_object('checkoutId', %(checkout_id)s::text))
    else raise_problem('checkout_not_found', jsonb_build_object('checkoutId', %(checkout_id)s::text))
end as outcome,
(select id from converted) as cart_id,
(select user_id from converted) as user_id,
(select recovered from converted) as recovered
"""


def complete_checkout(conn: psycopg.Connection, checkout_id: UUID) -> Row:
    params = {"checkout_id": checkout_id}
    *_, (row,) = pipeline(
        conn,
        [
            (LOCK_CHECKOUT, params),
            (LOCK_RESERVED_VARIANTS, params),
            (LOCK_RESERVED_PRODUCTS, params),
            (COMPLETE_CHECKOUT, params),
        ],
    )
    return row


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


# --- lifecycle ---------------------------------------------------------------------------------
# The scheduled sweep (cart_common/lifecycle.py) and the admin listing of abandoned carts. Every
# sweep statement is one bounded batch in its own short transaction: it locks at most %(batch)s
# rows it chose with FOR UPDATE SKIP LOCKED (so it never waits for a shopper, and two overlapping
# sweeps take disjoint rows instead of waiting for each other), re-checks its condition on the
# locked row in the same statement, and counts only the rows it changed itself. The chosen ids are
# handed on as an array (= any(array(...))) so the write finds them by primary key: a join with the
# CTE lets the planner scan the whole table, a cost that grows with the table instead of the batch.

# A cart whose open checkout still holds stock is never swept (its reservation would vanish in the
# cascade mid-payment; and completing a checkout locks the checkout before the cart, the opposite of
# a delete's cascade, so skipping them also keeps the two from deadlocking).
SWEEP_SPARES_RESERVED_CART = """not exists (
        select 1 from checkout k where k.cart_id = c.id and k.status = 'open' and k.expires_at > now())"""

# Expired carts of every kind: guest and user carts past expires_at (which every change slides
# forward by GUEST_/USER_CART_TTL_DAYS), and merged or converted carts past theirs. A cart that a
# merged guest cart still points at waits for that guest cart to go first (it always expires
# earlier with the default TTLs): deleting it would update the guest cart's merged_into, a row
# another sweep may hold, and two sweeps holding each other's pairs would deadlock.
EXPIRE_CARTS = (
    """
with doomed as materialized (
    select c.id from cart c
    where c.expires_at < now()
      and not exists (select 1 from cart g where g.merged_into = c.id)
      and """
    + SWEEP_SPARES_RESERVED_CART
    + """
    order by c.expires_at
    limit %(batch)s
    for update of c skip locked
),
gone as (
    delete from cart c
    where c.id = any(array(select id from doomed)) and c.expires_at < now()
    returning c.status, c.user_id is not null as user_cart
)
select count(*) as expired,
       count(*) filter (where status = 'active' and not user_cart) as guest,
       count(*) filter (where status = 'active' and user_cart) as user,
       count(*) filter (where status <> 'active') as closed
from gone
"""
)

# Checkouts whose reservation is over: expired while open, or released by a change to the cart.
# Deleting them (reservations cascade) frees nothing that still counts (only open, unexpired
# checkouts hold stock), so this is housekeeping, bounded like the rest; completed ones stay.
PURGE_CHECKOUTS = """
with due as materialized (
    select k.id from checkout k
    where k.status = 'released' or (k.status = 'open' and k.expires_at < now())
    order by k.created_at
    limit %(batch)s
    for update skip locked
),
gone as (
    delete from checkout k
    where k.id = any(array(select id from due))
      and (k.status = 'released' or (k.status = 'open' and k.expires_at < now()))
    returning 1
)
select count(*) as purged from gone
"""

PURGE_IDEMPOTENCY_KEYS = """
with due as materialized (
    select owner, key from idempotency_key where expires_at < now()
    order by expires_at limit %(batch)s for update skip locked
),
gone as (
    delete from idempotency_key k using due
    where k.owner = due.owner and k.key = due.key and k.expires_at < now()
    returning 1
)
select count(*) as purged from gone
"""


def purge_checkouts(conn: psycopg.Connection, *, batch: int) -> Row:
    return pipeline(conn, [(PURGE_CHECKOUTS, {"batch": batch})])[0][0]


def purge_idempotency_keys(conn: psycopg.Connection, *, batch: int) -> Row:
    return pipeline(conn, [(PURGE_IDEMPOTENCY_KEYS, {"batch": batch})])[0][0]


# Active carts with lines and no activity for %(hours)s hours: the mark, the value at current
# prices (as the cart view totals it) and a snapshot of the lines. A fresh mark is a fresh record,
# so it is no longer anonymised. Cart changes clear abandoned_at (and keep the snapshot).
MARK_ABANDONED = """
with due as materialized (
    select c.id from cart c
    where c.status = 'active' and c.abandoned_at is null
      and c.last_activity_at < now() - %(hours)s::float8 * interval '1 hour'
      and exists (select 1 from cart_item i where i.cart_id = c.id)
    order by c.last_activity_at
    limit %(batch)s
    for update of c skip locked
),
snapshot as (
    select i.cart_id,
           sum(coalesce(v.price, p.price) * i.quantity)::bigint as value,
           jsonb_agg(jsonb_build_object(
               'productId', i.product_id, 'variantId', i.variant_id, 'name', p.name,
               'quantity', i.quantity, 'unitPrice', coalesce(v.price, p.price)
           ) order by i.created_at, i.id) as items
    from cart_item i
    join product p on p.id = i.product_id
    left join product_variant v on v.id = i.variant_id
    where i.cart_id = any(array(select id from due))
    group by i.cart_id
),
marked as (
    update cart c
    set abandoned_at = now(), abandoned_value = s.value, abandoned_items = s.items, anonymised_at = null
    from snapshot s
    where c.id = any(array(select id from due)) and c.id = s.cart_id
      and c.status = 'active' and c.abandoned_at is null
      and c.last_activity_at < now() - %(hours)s::float8 * interval '1 hour'
    returning c.id
)
select (select count(*) from due) as selected, (select count(*) from marked) as marked
"""

# Abandoned-cart records older than %(days)s days (see lifecycle.py for the policy): marked
# anonymised; a cart that is no longer active also loses every key that leads to a person.
ANONYMISE_ABANDONED = """
with due as materialized (
    select c.id from cart c
    where c.abandoned_at < now() - %(days)s::float8 * interval '1 day' and c.anonymised_at is null
    order by c.abandoned_at
    limit %(batch)s
    for update of c skip locked
),
anonymised as (
    update cart c
    set anonymised_at = now(),
        updated_at = now(),
        user_id = case when c.status = 'active' then c.user_id end,
        session_id = case when c.status = 'active' then c.session_id end,
        merged_into = case when c.status = 'active' then c.merged_into end
    where c.id = any(array(select id from due))
      and c.abandoned_at < now() - %(days)s::float8 * interval '1 day' and c.anonymised_at is null
    returning c.id
)
select count(*) as anonymised from anonymised
"""

# Shoppers' emails (kept only for abandoned-cart win-back) whose user has had no cart activity for
# %(days)s days and that were not captured within them either. One window of the table per
# statement, in user_id order; no lock is taken on the rows kept, and a concurrent sign-in that
# rewrites a row makes the delete re-check it.
REMOVE_STALE_EMAILS = """
with scanned as materialized (
    select user_id from shopper
    where user_id > %(after)s
    order by user_id
    limit %(batch)s
),
removed as (
    delete from shopper s
    where s.user_id = any(array(select user_id from scanned))
      and s.updated_at < now() - %(days)s::float8 * interval '1 day'
      and not exists (select 1 from cart c where c.user_id = s.user_id
                      and c.last_activity_at >= now() - %(days)s::float8 * interval '1 day')
    returning s.user_id
)
select (select max(user_id) from scanned) as last_user_id, (select count(*) from removed) as removed
"""


def expire_carts(conn: psycopg.Connection, *, batch: int) -> Row:
    return pipeline(conn, [(EXPIRE_CARTS, {"batch": batch})])[0][0]


def mark_abandoned(conn: psycopg.Connection, *, batch: int, hours: int) -> Row:
    return pipeline(conn, [(MARK_ABANDONED, {"batch": batch, "hours": hours})])[0][0]


def anonymise_abandoned(conn: psycopg.Connection, *, batch: int, days: int) -> Row:
    return pipeline(conn, [(ANONYMISE_ABANDONED, {"batch": batch, "days": days})])[0][0]


def remove_stale_emails(conn: psycopg.Connection, *, batch: int, days: int, after: str) -> Row:
    return pipeline(conn, [(REMOVE_STALE_EMAILS, {"batch": batch, "days": days, "after": after})])[0][0]


# A converted cart that had once been marked abandoned is recovered; the first conversion's time is
# kept, so a replay changes nothing. Returns no row for a cart that was never abandoned.
MARK_RECOVERED = """
update cart
set recovered_at = coalesce(recovered_at, now()), abandoned_at = null, updated_at = now()
where id = %(cart_id)s::uuid and abandoned_value is not null
returning recovered_at
"""


def mark_recovered_statement(cart_id: UUID) -> Statement:
    return MARK_RECOVERED, {"cart_id": cart_id}


def mark_recovered(conn: psycopg.Connection, cart_id: UUID) -> Row | None:
    rows = pipeline(conn, [mark_recovered_statement(cart_id)])[0]
    return rows[0] if rows else None


# The admin listing: active carts still marked abandoned, most valuable first. An anonymised
# record shows neither its user nor the user's email.
_ABANDONED_WHERE = """
where c.status = 'active' and c.abandoned_at is not null
  and c.abandoned_value >= %(min_value)s
  and c.abandoned_at >= coalesce(%(since)s::timestamptz, '-infinity')
"""
COUNT_ABANDONED = "select count(*) as total from cart c" + _ABANDONED_WHERE
LIST_ABANDONED = (
    """
select c.id, c.currency, c.abandoned_items as items, c.abandoned_value as total_value,
       c.last_activity_at, c.abandoned_at,
       case when c.anonymised_at is null then c.user_id end as user_id,
       s.email as user_email
from cart c
left join shopper s on s.user_id = c.user_id and c.anonymised_at is null
"""
    + _ABANDONED_WHERE
    + """
order by c.abandoned_value desc, c.last_activity_at desc, c.id
limit %(limit)s offset %(offset)s
"""
)


def list_abandoned(
    conn: psycopg.Connection, *, min_value: int, since: Any, limit: int, offset: int
) -> tuple[int, list[Row]]:
    """The total matching and one page, in one round trip."""
    params = {"min_value": min_value, "since": since, "limit": limit, "offset": offset}
    (count,), page = pipeline(conn, [(COUNT_ABANDONED, params), (LIST_ABANDONED, params)])
    return count["total"], page
