-- POST /admin/products/:productId/variants: one variant more, under the product's row lock,
-- If-Match (``expected``) checked against its version; the edit's version (``admin_version``) is the
-- product's and its details' (which variants exist) from now on. A taken SKU stops the statement
-- with the unique index's error (store/catalog.py: sku_taken).
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
        else 0
    end as outcome
),
bumped as (
    update product p set version = target.ver, details_version = target.ver, updated_at = now()
    from target, checked
    where p.id = target.id and checked.outcome = 0
    returning p.id
),
inserted as (
    insert into product_variant (product_id, sku, attributes, price, stock, active, price_version, stock_version)
    select b.id, %(sku)s, %(attributes)s::jsonb, %(price)s, %(stock)s, %(active)s, t.ver, t.ver
    from bumped b, target t
    returning id
)
select (select outcome from checked) as outcome, (select count(*) from inserted) as inserted
