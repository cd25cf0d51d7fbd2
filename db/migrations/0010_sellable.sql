-- The facts every cart statement asks of the catalog, defined once (issue 15): what a product, or
-- one of its variants, sells at now; what a cart's lines are worth; what other checkouts hold; and
-- the refusals several statements give. The data-access statements read these instead of repeating
-- coalesce(v.price, p.price) and friends.

-- What (product, variant) sells at now: the variant's own values where it has them, else the
-- product's. One row when the product exists (the variant columns null when ``variant`` is null or
-- names no variant of it); none otherwise. ``configured_max`` is the configured per-line maximum:
-- ``max_line`` is it, or the product's own max_per_order when lower.
-- A single-SELECT SQL function: PostgreSQL inlines it into the calling statement (it plans as the
-- join written out), so defining the fact once costs nothing per call.
create function sellable(product uuid, variant uuid, configured_max integer default null)
returns table (
    product_id uuid, variant_id uuid, name text, image_url text, sku text, currency char(3),
    price bigint, stock integer, active boolean, attributes jsonb, max_per_order integer, max_line integer,
    max_per_customer integer, requires_auth boolean, exclusive_group text
)
language sql stable as $$
    select p.id, v.id, p.name, p.image_url, v.sku, p.currency,
           coalesce(v.price, p.price), coalesce(v.stock, p.stock),
           p.active and coalesce(v.active, true), v.attributes, p.max_per_order,
           least(configured_max, coalesce(p.max_per_order, configured_max)),
           p.max_per_customer, p.requires_auth, p.exclusive_group
    from product p
    left join product_variant v on v.id = variant and v.product_id = p.id
    where p.id = product
$$;

-- Whether a product is sold only as one of its variants.
create function has_variants(product uuid) returns boolean
language sql stable as $$
    select exists (select 1 from product_variant x where x.product_id = product)
$$;

-- A cart's lines at current prices (numeric: it may not fit in bigint).
create function cart_value(cart uuid) returns numeric
language sql stable as $$
    select coalesce(sum(s.price::numeric * i.quantity), 0)
    from cart_item i cross join lateral sellable(i.product_id, i.variant_id) s
    where i.cart_id = cart
$$;

-- Stock other carts hold: the lines of open, unexpired checkouts of carts other than ``cart``.
create function held_by_others(cart uuid, product uuid, variant uuid) returns bigint
language sql stable as $$
    select coalesce(sum(r.quantity), 0)
    from reservation r join checkout k on k.id = r.checkout_id
    where k.status = 'open' and k.expires_at > now() and k.cart_id <> cart
      and r.product_id = product and r.variant_id is not distinct from variant
$$;

-- A change's If-Match outcome: 0 when there is no precondition (``expected`` null), when the cart had
-- the expected version (``matched``), or when 0 was expected and the owner has no cart; else the
-- whole change stops with 409 version_conflict.
create function check_version(expected integer, matched boolean, cart_exists boolean) returns integer
language sql volatile as $$
    select case
        when expected is null or matched then 0
        when expected = 0 and not cart_exists then 0
        else raise_problem('version_conflict')
    end
$$;

-- The refusal of a cart limit (422 limit_exceeded): which limit, what it allows, and what else helps.
create function refuse_limit(limit_name text, allowed bigint, extra jsonb default jsonb_build_object())
returns integer
language sql volatile as $$
    select raise_problem('limit_exceeded', jsonb_build_object('limit', limit_name, 'allowed', allowed) || extra)
$$;

-- How many units of ``product`` a cart holds, across its variants (max_per_customer counts these).
create function product_quantity(cart uuid, product uuid) returns bigint
language sql stable as $$
    select coalesce(sum(i.quantity), 0) from cart_item i where i.cart_id = cart and i.product_id = product
$$;
