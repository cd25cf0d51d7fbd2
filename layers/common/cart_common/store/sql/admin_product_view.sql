-- A product as the admin API answers it (every column an admin sets, its variants by SKU, active or
-- not): the product ``product_id``, or the one variant ``variant_id`` belongs to.
select p.id, p.name, p.slug, p.image_url, p.price, p.currency, p.stock, p.max_per_order, p.max_per_customer,
       p.requires_auth, p.exclusive_group, p.active, p.version,
       coalesce((select jsonb_agg(jsonb_build_object(
                     'id', v.id, 'sku', v.sku, 'attributes', v.attributes, 'price', v.price, 'stock', v.stock,
                     'active', v.active) order by v.sku)
                 from product_variant v where v.product_id = p.id), '[]'::jsonb) as variants
from product p
where p.id = coalesce(%(product_id)s::uuid,
                      (select v.product_id from product_variant v where v.id = %(variant_id)s::uuid))
