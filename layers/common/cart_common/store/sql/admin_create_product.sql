-- POST /admin/products: the product and its variants, at the edit's version (``admin_version``). A taken slug or SKU stops the
-- statement with the unique index's error, which store/catalog.py answers as slug_taken / sku_taken.
with product_ as (
    insert into product (id, name, slug, image_url, price, currency, stock, max_per_order, max_per_customer,
                         requires_auth, exclusive_group, active, version,
                         details_version, price_version, stock_version)
    values (%(product_id)s, %(name)s, %(slug)s, %(image_url)s, %(price)s, %(currency)s, %(stock)s, %(max_per_order)s,
            %(max_per_customer)s, %(requires_auth)s, %(exclusive_group)s, %(active)s, admin_version(0),
            admin_version(0), admin_version(0), admin_version(0))
    returning id
)
insert into product_variant (product_id, sku, attributes, price, stock, active, price_version, stock_version)
select p.id, v.sku, v.attributes, v.price, v.stock, v.active, admin_version(0), admin_version(0)
from product_ p,
     jsonb_to_recordset(%(variants)s::jsonb) as v(sku text, attributes jsonb, price bigint, stock integer, active boolean)
