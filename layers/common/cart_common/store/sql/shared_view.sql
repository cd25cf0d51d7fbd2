-- GET /shared/:token: what a live link shows, at today's prices and available stock: a cart's lines as
-- they were shared, or a list's items as they are now (the catalog's attributes only). Nothing about its
-- owner. One row with no line for an empty list; none when the link is gone (revoked, its list deleted,
-- its owner erased) or expired.
with link as (
    select s.list_id, s.lines, l.name as list_name, s.expires_at
    from share_link s left join shopping_list l on l.id = s.list_id
    where s.id = %(share_id)s::uuid and s.expires_at > now()
),
lines_ as (
    select x.product_id, x.variant_id, x.quantity, x.ord
    from link
    cross join rows from (jsonb_to_recordset(link.lines) as (product_id uuid, variant_id uuid, quantity int))
         with ordinality as x(product_id, variant_id, quantity, ord)
    union all
    select i.product_id, i.variant_id, i.quantity, row_number() over (order by i.saved_at, i.id)
    from link join list_item i on i.list_id = link.list_id
)
select link.list_id is not null as is_list, link.list_name, link.expires_at,
       x.product_id, x.variant_id, s.sku, s.name, s.slug, s.image_url, s.currency,
       coalesce(s.attributes, jsonb_build_object()) as attributes, x.quantity, s.price as unit_price,
       available_stock(null, x.product_id, x.variant_id) as available_stock, s.active
from link
left join lines_ x on true
left join lateral sellable(x.product_id, x.variant_id) s on true
order by x.ord
