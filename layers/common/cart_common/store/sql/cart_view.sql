-- The cart's lines as the cart view shows them: one row with no line for an empty cart, none
-- without a cart. The catalog's attributes of a variant win over a line's own; available_stock is
-- what other carts' open checkouts leave (migration 0013).
select c.id as cart_id, c.version, c.currency,
       i.id as item_id, i.product_id, i.variant_id, s.sku, s.name, s.slug, s.image_url,
       i.selected_attributes || coalesce(s.attributes, jsonb_build_object()) as attributes,
       i.quantity, i.price_at_add, s.price as unit_price, s.active, s.max_per_order,
       available_stock(c.id, i.product_id, i.variant_id) as available_stock
from cart c
left join cart_item i on i.cart_id = c.id
left join lateral sellable(i.product_id, i.variant_id) s on true
where c.{owner_col} = %(owner)s and c.status = 'active'
order by i.created_at, i.id
