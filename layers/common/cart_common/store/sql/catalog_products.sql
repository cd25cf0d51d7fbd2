-- GET /catalog/products (a page after the slug ``after``) and GET /catalog/products/:slug: active
-- products by slug, each with its active variants by SKU; prices as they sell now and stock as
-- available_stock (migration 0013) counts it for a shopper with no hold of their own.
select p.id, p.slug, p.name, p.image_url, p.price, p.currency, p.max_per_order, p.requires_auth,
       coalesce(v.variants, '[]'::jsonb) as variants,
       case when has_variants(p.id) then coalesce(v.available, 0)
            else available_stock(null, p.id, null) end as available_stock
from product p
left join lateral (
    select jsonb_agg(jsonb_build_object(
               'id', x.id, 'sku', x.sku, 'attributes', x.attributes, 'price', coalesce(x.price, p.price),
               'availableStock', available_stock(null, p.id, x.id)) order by x.sku) as variants,
           sum(available_stock(null, p.id, x.id)) as available
    from product_variant x
    where x.product_id = p.id and x.active
) v on true
where p.active
  and (%(slug)s::text is null or p.slug = %(slug)s::text)
  and (%(after)s::text is null or p.slug > %(after)s::text)
order by p.slug
limit %(limit)s
