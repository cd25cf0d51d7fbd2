-- The readiness of every line, and for a line of a product with variants that cannot be had as it
-- is, the in-stock variants of that product to offer instead.
with {readiness}
select l.*,
       case when l.has_variants and (not l.active or l.available < l.quantity) then (
           select coalesce(jsonb_agg(jsonb_build_object(
               'variantId', a.variant_id, 'sku', a.sku, 'attributes', a.attributes,
               'unitPrice', a.price, 'available', a.available) order by a.sku), '[]'::jsonb)
           from (select s.*, available_stock(l.cart_id, s.product_id, s.variant_id) as available
                 from product_variant x cross join lateral sellable(x.product_id, x.id) s
                 where x.product_id = l.product_id and x.active and x.id is distinct from l.variant_id) a
           where a.available > 0)
       end as alternatives
from lines l
order by l.created_at, l.item_id
