-- PATCH /admin/variants/:variantId and PUT .../stock: the fields in ``patch`` (column names; price
-- null: the product's) under the product's and the variant's row locks, If-Match (``expected``)
-- checked against the product's version: variants are versioned with their product. The edit's
-- version (``admin_version``) becomes the product's and that of each part it wrote (the variant's
-- price or stock; its SKU, attributes or active flag are the product's details), as in
-- admin_update_product.sql.
with target as (
    select v.id, v.product_id, p.version, admin_version(p.version) as ver
    from product_variant v join product p on p.id = v.product_id
    where v.id = %(variant_id)s::uuid
    for update of p, v
),
checked as (
    select case
        when not exists (select 1 from target) then
            raise_problem('variant_not_found', jsonb_build_object('variantId', %(variant_id)s::text))
        when %(expected)s::bigint is not null and (select version from target) <> %(expected)s::bigint then
            raise_problem('product_changed', jsonb_build_object('currentVersion', (select version from target)))
        else 0
    end as outcome
),
bumped as (
    update product p set
        version = target.ver,
        details_version = case when x.patch - 'price' - 'stock' <> jsonb_build_object() then target.ver
                               else p.details_version end,
        updated_at = now()
    from target, checked, (select %(patch)s::jsonb as patch) x
    where p.id = target.product_id and checked.outcome = 0
    returning p.id
),
updated as (
    update product_variant v set
        sku = case when x.patch ? 'sku' then x.patch->>'sku' else v.sku end,
        attributes = case when x.patch ? 'attributes' then x.patch->'attributes' else v.attributes end,
        price = case when x.patch ? 'price' then (x.patch->>'price')::bigint else v.price end,
        stock = case when x.patch ? 'stock' then (x.patch->>'stock')::integer else v.stock end,
        active = case when x.patch ? 'active' then (x.patch->>'active')::boolean else v.active end,
        price_version = case when x.patch ? 'price' then target.ver else v.price_version end,
        stock_version = case when x.patch ? 'stock' then target.ver else v.stock_version end,
        updated_at = now()
    from target, checked, (select %(patch)s::jsonb as patch) x
    where v.id = target.id and checked.outcome = 0
    returning v.id
),
counted as (
    delete from catalog_stock_delta d
    using target, checked
    where %(patch)s::jsonb ? 'stock' and checked.outcome = 0
      and d.variant_id = target.id and d.version <= target.ver
    returning 1
)
select (select outcome from checked) as outcome, (select count(*) from updated) + (select count(*) from bumped) as updated
