-- A cart line links to its product page (issue 22): ``sellable`` (0010) also names the product's slug,
-- read from the product row it already joins, so the cart and saved-item views gain no join.
-- A new output column changes the function's row type, which CREATE OR REPLACE cannot do: it is
-- dropped and created again in the migrations' one transaction, so no session sees it missing. Its
-- callers are SQL-language bodies resolved when called (PostgreSQL records no dependency on it) and
-- statements that name the columns they read, so the code before this change runs unchanged on it.
drop function sellable(uuid, uuid, integer);

create function sellable(product uuid, variant uuid, configured_max integer default null)
returns table (
    product_id uuid, variant_id uuid, name text, image_url text, sku text, currency char(3),
    price bigint, stock integer, active boolean, attributes jsonb, max_per_order integer, max_line integer,
    max_per_customer integer, requires_auth boolean, exclusive_group text, slug text
)
language sql stable as $$
    select p.id, v.id, p.name, p.image_url, v.sku, p.currency,
           coalesce(v.price, p.price), coalesce(v.stock, p.stock),
           p.active and coalesce(v.active, true), v.attributes, p.max_per_order,
           least(configured_max, coalesce(p.max_per_order, configured_max)),
           p.max_per_customer, p.requires_auth, p.exclusive_group, p.slug
    from product p
    left join product_variant v on v.id = variant and v.product_id = p.id
    where p.id = product
$$;
