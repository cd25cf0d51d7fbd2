-- Checkout with acceptPriceChanges: every line takes the price it sells at now.
with repriced as (
    select i.id, s.price
    from cart c
    join cart_item i on i.cart_id = c.id
    cross join lateral sellable(i.product_id, i.variant_id) s
    where c.{owner_col} = %(owner)s and c.status = 'active' and i.price_at_add <> s.price
)
update cart_item i set price_at_add = r.price, updated_at = now()
from repriced r
where i.id = r.id
