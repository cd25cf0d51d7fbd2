-- Active carts with lines and no activity for hours hours: the mark, the value at current
-- prices (as the cart view totals it) and a snapshot of the lines. A fresh mark is a fresh record,
-- so it is no longer anonymised. Cart changes clear abandoned_at (and keep the snapshot).
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
           sum(s.price * i.quantity)::bigint as value,
           jsonb_agg(jsonb_build_object(
               'productId', i.product_id, 'variantId', i.variant_id, 'name', s.name,
               'quantity', i.quantity, 'unitPrice', s.price
           ) order by i.created_at, i.id) as items
    from cart_item i
    cross join lateral sellable(i.product_id, i.variant_id) s
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
