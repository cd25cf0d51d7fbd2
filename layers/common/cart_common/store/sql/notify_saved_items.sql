-- Saved-for-later items of active carts that are back in stock or cheaper, each announced once per
-- item and change (the sweep walks the saved items by id, a batch at a time; ``after`` is where
-- the previous batch stopped):
-- - SavedItemBackInStock when it is available to this cart (stock less what other carts' open
--   checkouts hold, and sold) and was last seen out of stock (at first: when it was saved);
--   going out of stock again is only remembered, so the next restock is announced again;
-- - SavedItemPriceDropped when its price is below the price last announced (at first: the price
--   when it was saved).
with batch as materialized (
    select s.id from saved_item s
    where s.id > %(after)s::uuid
      and exists (select 1 from cart c where c.id = s.cart_id and c.status = 'active')
    order by s.id
    limit %(batch)s
    for update of s skip locked
),
observed as (
    select s.id, s.cart_id, c.user_id, p.currency, s.product_id, s.variant_id, p.name, s.price_at_save,
           coalesce(s.notified_price, s.price_at_save) as announced_price, p.price,
           coalesce(s.seen_in_stock, s.stock_at_save > 0) as was_in_stock,
           coalesce(p.active and p.stock - held_by_others(s.cart_id, s.product_id, s.variant_id) > 0, false)
               as in_stock
    from saved_item s
    join cart c on c.id = s.cart_id
    left join lateral sellable(s.product_id, s.variant_id) p on true
    where s.id = any(array(select id from batch))
),
remembered as (
    update saved_item s
    set seen_in_stock = o.in_stock,
        notified_price = case when o.price < o.announced_price then o.price else s.notified_price end
    from observed o
    where s.id = o.id and (o.in_stock is distinct from o.was_in_stock or o.price < o.announced_price)
    returning s.id
),
back as (
    insert into cart_event (detail_type, detail)
    select 'SavedItemBackInStock', jsonb_build_object(
        'savedItemId', o.id, 'cartId', o.cart_id, 'userId', o.user_id, 'productId', o.product_id,
        'variantId', o.variant_id, 'name', o.name, 'currency', o.currency, 'price', o.price)
    from observed o where o.in_stock and not o.was_in_stock
    returning 1
),
dropped as (
    insert into cart_event (detail_type, detail)
    select 'SavedItemPriceDropped', jsonb_build_object(
        'savedItemId', o.id, 'cartId', o.cart_id, 'userId', o.user_id, 'productId', o.product_id,
        'variantId', o.variant_id, 'name', o.name, 'currency', o.currency, 'priceAtSave', o.price_at_save,
        'previousPrice', o.announced_price, 'price', o.price)
    from observed o where o.price < o.announced_price
    returning 1
)
select (select count(*) from batch) as selected,
       (select count(*) from back) as back_in_stock,
       (select count(*) from dropped) as price_dropped,
       (select id::text from batch order by id desc limit 1) as last_id
