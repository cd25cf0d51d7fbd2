-- Completing a checkout (the order service, after payment): the stock the checkout holds becomes
-- sold, the cart is converted (and recovered, when it had been marked abandoned).
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
