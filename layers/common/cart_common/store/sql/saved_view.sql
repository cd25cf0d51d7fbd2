-- The cart's saved-for-later items, with the price and stock they had when saved beside today's.
select v.id, v.product_id, v.variant_id, s.sku, s.name, s.slug, s.image_url,
       v.selected_attributes || coalesce(s.attributes, jsonb_build_object()) as attributes,
       v.quantity, v.price_at_save, s.price as unit_price, v.stock_at_save,
       available_stock(c.id, v.product_id, v.variant_id) as available_stock, s.active, v.saved_at
from cart c
join saved_item v on v.cart_id = c.id
cross join lateral sellable(v.product_id, v.variant_id) s
where c.{owner_col} = %(owner)s and c.status = 'active'
order by v.saved_at, v.id
