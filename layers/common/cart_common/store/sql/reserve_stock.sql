-- Reserves every line when every line is ready; otherwise writes nothing (the readiness rows,
-- fetched in the same round trip, say why).
with {readiness},
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
