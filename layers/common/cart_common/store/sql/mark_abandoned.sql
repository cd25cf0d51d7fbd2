-- Active carts with lines and no activity for hours hours: the mark, the value at current
-- prices (as the cart view totals it) and a snapshot of the lines. A fresh mark is a fresh record,
-- so it is no longer anonymised. Cart changes clear abandoned_at (and keep the snapshot). Each mark
-- writes a CartAbandoned event (the outbox, store/events.py).
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
    returning c.id, c.user_id, c.currency, c.abandoned_at, c.last_activity_at
),
announced as (
    -- CartAbandoned, for win-back: the email when the shopper's is known (never logged; the
    -- recovery link is added when it is published, cart_common/events.py)
    insert into cart_event (detail_type, detail)
    select 'CartAbandoned', jsonb_build_object(
        'cartId', m.id, 'userId', m.user_id, 'email', sh.email, 'currency', m.currency,
        'value', s.value, 'lines', s.items, 'abandonedAt', m.abandoned_at, 'lastActivityAt', m.last_activity_at)
    from marked m join snapshot s on s.cart_id = m.id
    left join shopper sh on sh.user_id = m.user_id
)
select (select count(*) from due) as selected, (select count(*) from marked) as marked
