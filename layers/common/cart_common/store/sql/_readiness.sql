-- Each line of the owner's cart with what checkout needs to know about it now: available is the
-- available_stock (migration 0013), what other carts' open checkouts leave.
lines as (
    select i.id as item_id, i.cart_id, i.product_id, i.variant_id, i.quantity, i.price_at_add,
           s.price as unit_price, s.active,
           available_stock(i.cart_id, i.product_id, i.variant_id) as available,
           s.max_line, has_variants(i.product_id) as has_variants, i.created_at
    from cart c
    join cart_item i on i.cart_id = c.id
    cross join lateral sellable(i.product_id, i.variant_id, %(max_line)s::int) s
    where c.{owner_col} = %(owner)s and c.status = 'active'
)
