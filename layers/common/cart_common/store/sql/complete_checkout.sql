-- Completing a checkout (the order service, after payment), exactly once: the cart, the checkout
-- and the catalog rows of its lines are locked before this (store/checkout.py), so concurrent
-- duplicates queue up and the second one reads the first one's outcome.
--
-- The lines are the cart's: every change of a cart releases its checkout, so the cart of a checkout
-- that is not released holds exactly what was reserved. Each line takes its stock if it is available
-- to this checkout (stock less what other carts' open checkouts hold), which an unexpired
-- reservation guarantees; after the reservation lapsed, it holds only if nobody took the stock
-- meanwhile. All lines or none; stock never goes below 0 (a check constraint holds it too).
--
-- outcome: completed | already_completed (the same order, replayed) | conflict (completed by another
-- order) | released | insufficient_stock | not_found. Everything but completed and
-- already_completed writes a CheckoutCompletionFailed event for the order service (to refund).
with k as (
    select k.id, k.cart_id, k.status, k.order_id, k.expires_at <= now() as lapsed, c.user_id, c.currency
    from checkout k join cart c on c.id = k.cart_id
    where k.id = %(checkout_id)s::uuid
),
lines as (
    select i.product_id, i.variant_id, s.name, s.sku, i.quantity, i.price_at_add as unit_price,
           s.stock - held_by_others(i.cart_id, i.product_id, i.variant_id) as available
    from k
    join cart_item i on i.cart_id = k.cart_id
    cross join lateral sellable(i.product_id, i.variant_id) s
    where k.status = 'open'
),
decision as (
    select case
        when k.id is null then 'not_found'
        when k.status = 'completed' and k.order_id is not distinct from %(order_id)s::text then 'already_completed'
        when k.status = 'completed' then 'conflict'
        when k.status = 'released' or not exists (select 1 from lines) then 'released'
        when exists (select 1 from lines where quantity > available) then 'insufficient_stock'
        else 'completed'
    end as outcome
    from (select 1) one left join k on true
),
sold_variants as (
    update product_variant v set stock = v.stock - l.quantity, updated_at = now()
    from lines l, decision d
    where d.outcome = 'completed' and l.variant_id = v.id
    returning v.id
),
sold_products as (
    update product p set stock = p.stock - l.quantity, updated_at = now()
    from lines l, decision d
    where d.outcome = 'completed' and l.variant_id is null and l.product_id = p.id
    returning p.id
),
completed as (
    update checkout set status = 'completed', completed_at = now(), order_id = %(order_id)s::text
    from decision d
    where checkout.id = %(checkout_id)s::uuid and d.outcome = 'completed'
    returning checkout.id, checkout.cart_id
),
freed as (
    -- the reserved stock is now sold
    delete from reservation r using completed where r.checkout_id = completed.id
),
discounts as (
    -- as the cart view reads them, before this completion counts its use
    select d.code, d.kind, d.value, d.currency, d.min_subtotal, d.starts_at, d.ends_at, d.usage_limit,
           d.times_used, d.active, now() as now
    from k join cart_discount cd on cd.cart_id = k.cart_id join discount_code d on d.code = cd.code
    order by cd.applied_at, d.code
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
),
completed_event as (
    -- discounts and totals are added from discountRows when it is published (cart_common/events.py)
    insert into cart_event (detail_type, detail)
    select 'CheckoutCompleted', jsonb_build_object(
        'checkoutId', k.id, 'orderId', %(order_id)s::text, 'cartId', k.cart_id, 'userId', k.user_id,
        'currency', k.currency, 'reservationLapsed', k.lapsed, 'completedAt', now(),
        'lines', (select jsonb_agg(jsonb_build_object(
                     'productId', l.product_id, 'variantId', l.variant_id, 'name', l.name, 'sku', l.sku,
                     'quantity', l.quantity, 'unitPrice', l.unit_price, 'lineTotal', l.unit_price * l.quantity)
                     order by l.product_id, l.variant_id)
                  from lines l),
        'subtotal', (select sum(l.unit_price * l.quantity) from lines l),
        'discountRows', (select coalesce(jsonb_agg(to_jsonb(d)), '[]'::jsonb) from discounts d))
    from k join converted on converted.id = k.cart_id
),
failed_event as (
    insert into cart_event (detail_type, detail)
    select 'CheckoutCompletionFailed', jsonb_build_object(
        'checkoutId', %(checkout_id)s::uuid, 'orderId', %(order_id)s::text,
        'cartId', (select cart_id from k), 'userId', (select user_id from k),
        'reason', d.outcome,
        'completedOrderId', case when d.outcome = 'conflict' then (select order_id from k) end,
        'linesShort', coalesce((select jsonb_agg(jsonb_build_object(
                          'productId', l.product_id, 'variantId', l.variant_id, 'quantity', l.quantity,
                          'available', greatest(l.available, 0)) order by l.product_id, l.variant_id)
                       from lines l where d.outcome = 'insufficient_stock' and l.quantity > l.available),
                      '[]'::jsonb))
    from decision d
    where d.outcome not in ('completed', 'already_completed')
)
select d.outcome,
       (select cart_id from k) as cart_id,
       (select user_id from k) as user_id,
       (select order_id from k) as completed_order_id,
       coalesce((select recovered from converted),
                (select c.recovered_at is not null from cart c where c.id = (select cart_id from k))) as recovered,
       (select coalesce(jsonb_agg(jsonb_build_object(
                   'productId', l.product_id, 'variantId', l.variant_id, 'quantity', l.quantity,
                   'available', greatest(l.available, 0)) order by l.product_id, l.variant_id), '[]'::jsonb)
        from lines l where l.quantity > l.available) as lines_short
from decision d
