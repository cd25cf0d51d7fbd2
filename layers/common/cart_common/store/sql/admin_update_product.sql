-- PATCH /admin/products/:productId and PUT .../stock: the fields in ``patch`` (a JSON object of
-- column names; a key present with null clears the column) under the product's row lock, If-Match
-- (``expected``) checked against its version. Stock is a variant's own once a product has variants.
-- The edit's version (``admin_version``, migration 0016) becomes the product's and that of each part
-- it wrote (details, price, stock: the parts catalog events are ordered by, migration 0015), and
-- covered stock deltas go as a stock count's do.
with target as (
    select id, version, admin_version(version) as ver from product where id = %(product_id)s::uuid for update
),
checked as (
    select case
        when not exists (select 1 from target) then
            raise_problem('product_not_found', jsonb_build_object(
                'productId', %(product_id)s::text, 'detail', 'There is no product ' || %(product_id)s::text))
        when %(expected)s::bigint is not null and (select version from target) <> %(expected)s::bigint then
            raise_problem('product_changed', jsonb_build_object('currentVersion', (select version from target)))
        when %(patch)s::jsonb ? 'stock' and has_variants(%(product_id)s::uuid) then
            raise_problem('variant_required', jsonb_build_object(
                'detail', 'This product has variants: set each variant''s stock (PUT /admin/variants/:variantId/stock)'))
        else 0
    end as outcome
),
updated as (
    update product p set
        name = case when x.patch ? 'name' then x.patch->>'name' else p.name end,
        slug = case when x.patch ? 'slug' then x.patch->>'slug' else p.slug end,
        image_url = case when x.patch ? 'image_url' then x.patch->>'image_url' else p.image_url end,
        price = case when x.patch ? 'price' then (x.patch->>'price')::bigint else p.price end,
        stock = case when x.patch ? 'stock' then (x.patch->>'stock')::integer else p.stock end,
        max_per_order = case when x.patch ? 'max_per_order' then (x.patch->>'max_per_order')::integer
                             else p.max_per_order end,
        max_per_customer = case when x.patch ? 'max_per_customer' then (x.patch->>'max_per_customer')::integer
                                else p.max_per_customer end,
        requires_auth = case when x.patch ? 'requires_auth' then (x.patch->>'requires_auth')::boolean
                             else p.requires_auth end,
        exclusive_group = case when x.patch ? 'exclusive_group' then x.patch->>'exclusive_group'
                               else p.exclusive_group end,
        active = case when x.patch ? 'active' then (x.patch->>'active')::boolean else p.active end,
        details_version = case when x.patch - 'price' - 'stock' <> jsonb_build_object() then target.ver
                               else p.details_version end,
        price_version = case when x.patch ? 'price' then target.ver else p.price_version end,
        stock_version = case when x.patch ? 'stock' then target.ver else p.stock_version end,
        version = target.ver,
        updated_at = now()
    from target, checked, (select %(patch)s::jsonb as patch) x
    where p.id = target.id and checked.outcome = 0
    returning p.id
),
counted as (
    delete from catalog_stock_delta d
    using target, checked
    where %(patch)s::jsonb ? 'stock' and checked.outcome = 0
      and d.product_id = target.id and d.variant_id is null and d.version <= target.ver
    returning 1
)
select (select outcome from checked) as outcome, (select count(*) from updated) as updated
