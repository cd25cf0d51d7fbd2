-- Issue 21 (catalog events in, bulk import): the shop's catalog and inventory events and its import
-- files write product and product_variant through catalog_apply below, idempotently and in order per
-- product whatever order they arrive in (docs/catalog.md).
--
-- Ordering: every event carries the shop's version of what it describes (a counter or its updated_at
-- in epoch milliseconds; one domain for events and import files). Each part of a product keeps the
-- version that last wrote it: its details (name, slug, rules, active, which variants exist), the
-- product's and each variant's price, the product's and each variant's stock. A write applies only
-- over an older version of its part, so a replay or an event overtaken by a newer one changes
-- nothing, and two events about different parts (two variants' stock) never shadow each other.
-- product.version (shared with the admin API, migration 0016) is raised to every version applied.

alter table product
    add column if not exists version bigint not null default 0,
    add column details_version bigint,   -- null: never written by the shop's catalog
    add column price_version   bigint,
    add column stock_version   bigint;
alter table product_variant
    add column price_version bigint,
    add column stock_version bigint;

-- StockAdjusted deltas applied since the last StockSet of their target: a delta is applied once (its
-- version is its key) and only when newer than the last set; a set that arrives after newer deltas
-- adds them back (the set is the count as of its version, the deltas came after it). A set deletes
-- the deltas it covers, so the table holds only what arrived since the last count.
create table catalog_stock_delta (
    product_id uuid not null references product on delete cascade,
    variant_id uuid references product_variant on delete cascade,
    version    bigint not null,
    delta      integer not null,
    applied_at timestamptz not null default now(),
    constraint catalog_stock_delta_key unique nulls not distinct (product_id, variant_id, version)
);
create index catalog_stock_delta_variant on catalog_stock_delta (variant_id) where variant_id is not null;

-- One import file (one S3 object version, or one local file's path, size and mtime): where the last
-- committed batch ended, so a later invocation continues there; its counts and first rejections.
create table import_job (
    id           uuid primary key default gen_random_uuid(),
    source       text not null unique,
    format       text not null check (format in ('jsonl', 'csv')),
    header       text,                                  -- a CSV file's first line, for a resumed run
    byte_offset  bigint not null default 0,
    line_number  integer not null default 0,            -- lines consumed (the header included)
    applied      integer not null default 0,
    unchanged    integer not null default 0,
    rejected     integer not null default 0,
    rejections   jsonb not null default '[]'::jsonb,    -- the first 1,000: [{line, code, reason?}]
    lease        uuid,                                  -- the invocation working on it
    lease_until  timestamptz,
    report       text,                                  -- where the report was written
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    finished_at  timestamptz
);
create index import_job_unfinished on import_job (updated_at) where finished_at is null;

-- The products a job has applied, with their line: a second line with the same id is a duplicate.
create table import_job_product (
    job_id     uuid not null references import_job on delete cascade,
    product_id uuid not null,
    line       integer not null,
    primary key (job_id, product_id)
);

-- The price of a product (variant null) or of one of its variants (price null: the product's).
create function catalog_set_price(pid uuid, vid uuid, ver bigint, new_price bigint, cur char(3)) returns text
language plpgsql as $$
declare
    product_currency char(3);
begin
    select p.currency into product_currency from product p where p.id = pid for update;
    if not found then
        return 'unknown_product';
    end if;
    if cur is not null and cur <> product_currency then
        return 'currency_mismatch';
    end if;
    if vid is null then
        if new_price is null then
            return 'invalid_price';
        end if;
        update product p set price = new_price, price_version = ver, version = greatest(p.version, ver),
                             updated_at = now()
        where p.id = pid and coalesce(p.price_version, -1) < ver;
    else
        perform 1 from product_variant v where v.id = vid and v.product_id = pid;
        if not found then
            return 'unknown_variant';
        end if;
        update product_variant v set price = new_price, price_version = ver, updated_at = now()
        where v.id = vid and coalesce(v.price_version, -1) < ver;
    end if;
    if not found then
        return 'unchanged';
    end if;
    update product p set version = greatest(p.version, ver) where p.id = pid and p.version < ver;
    return 'applied';
end
$$;

-- Stock counted at ``ver``: ``quantity`` plus the deltas newer than it, never below 0.
create function catalog_set_stock(pid uuid, vid uuid, ver bigint, quantity integer) returns text
language plpgsql as $$
declare
    later bigint;
    total bigint;
begin
    perform 1 from product p where p.id = pid for update;
    if not found then
        return 'unknown_product';
    end if;
    select coalesce(sum(d.delta), 0) into later from catalog_stock_delta d
    where d.product_id = pid and d.variant_id is not distinct from vid and d.version > ver;
    total := greatest(0, least(quantity::bigint + later, 2147483647));
    if vid is null then
        update product p set stock = total, stock_version = ver, updated_at = now()
        where p.id = pid and coalesce(p.stock_version, -1) < ver;
    else
        perform 1 from product_variant v where v.id = vid and v.product_id = pid;
        if not found then
            return 'unknown_variant';
        end if;
        update product_variant v set stock = total, stock_version = ver, updated_at = now()
        where v.id = vid and coalesce(v.stock_version, -1) < ver;
    end if;
    if not found then
        return 'unchanged';
    end if;
    delete from catalog_stock_delta d
    where d.product_id = pid and d.variant_id is not distinct from vid and d.version <= ver;
    update product p set version = greatest(p.version, ver) where p.id = pid and p.version < ver;
    return case when quantity::bigint + later < 0 then 'clamped' else 'applied' end;
end
$$;

-- ``delta`` once (its version is its key), unless a StockSet at or after its version counted it
-- already; the result never below 0 ('clamped': the shop sold what the copy here did not know of).
create function catalog_adjust_stock(pid uuid, vid uuid, ver bigint, change integer) returns text
language plpgsql as $$
declare
    counted bigint;
    before bigint;
    inserted integer;
begin
    if vid is null then
        select p.stock_version, p.stock into counted, before from product p where p.id = pid for update;
        if not found then
            return 'unknown_product';
        end if;
    else
        perform 1 from product p where p.id = pid for update;
        if not found then
            return 'unknown_product';
        end if;
        select v.stock_version, v.stock into counted, before from product_variant v
        where v.id = vid and v.product_id = pid for update;
        if not found then
            return 'unknown_variant';
        end if;
    end if;
    if counted is not null and ver <= counted then
        return 'unchanged';
    end if;
    insert into catalog_stock_delta (product_id, variant_id, version, delta) values (pid, vid, ver, change)
    on conflict on constraint catalog_stock_delta_key do nothing;
    get diagnostics inserted = row_count;
    if inserted = 0 then
        return 'unchanged';
    end if;
    if vid is null then
        update product p set stock = greatest(0, least(p.stock::bigint + change, 2147483647)),
                             version = greatest(p.version, ver), updated_at = now()
        where p.id = pid;
    else
        update product_variant v set stock = greatest(0, least(v.stock::bigint + change, 2147483647)),
                                     updated_at = now()
        where v.id = vid;
        update product p set version = greatest(p.version, ver) where p.id = pid and p.version < ver;
    end if;
    return case when before + change < 0 then 'clamped' else 'applied' end;
end
$$;

create function catalog_retire(pid uuid, ver bigint) returns text
language plpgsql as $$
begin
    perform 1 from product p where p.id = pid for update;
    if not found then
        return 'unknown_product';
    end if;
    update product p set active = false, details_version = ver, version = greatest(p.version, ver),
                         updated_at = now()
    where p.id = pid and coalesce(p.details_version, -1) < ver;
    return case when found then 'applied' else 'unchanged' end;
end
$$;

-- A whole product with its variants (ProductUpserted, an import line). Its details apply over older
-- details; its prices and stock over each part's older version. A slug or SKU another product's, or
-- a variant id of another product, refuses the whole product (nothing of it is written).
create function catalog_upsert_product(item jsonb) returns text
language plpgsql as $$
declare
    pid uuid := (item->>'productId')::uuid;
    ver bigint := (item->>'version')::bigint;
    variants jsonb := coalesce(item->'variants', '[]'::jsonb);
    written integer;
    v jsonb;
    outcome text;
    clamped boolean := false;
begin
    if exists (select 1 from product p where p.slug = item->>'slug' and p.id <> pid) then
        return 'slug_taken';
    end if;
    if exists (select 1 from jsonb_array_elements(variants) x
               join product_variant v on v.id = (x->>'id')::uuid where v.product_id <> pid) then
        return 'variant_of_another_product';
    end if;
    if exists (select 1 from jsonb_array_elements(variants) x
               join product_variant v on v.sku = x->>'sku' and v.id <> (x->>'id')::uuid) then
        return 'sku_taken';
    end if;
    insert into product as p (id, name, slug, image_url, price, currency, stock, max_per_order, max_per_customer,
                              requires_auth, exclusive_group, active, version, details_version, price_version)
    values (pid, item->>'name', item->>'slug', item->>'image', (item->>'price')::bigint, item->>'currency', 0,
            (item->>'maxPerOrder')::integer, (item->>'maxPerCustomer')::integer,
            coalesce((item->>'requiresAuth')::boolean, false), item->>'exclusiveGroup',
            coalesce((item->>'active')::boolean, true), ver, ver, ver)
    on conflict (id) do update
    set name = excluded.name, slug = excluded.slug, image_url = excluded.image_url, currency = excluded.currency,
        max_per_order = excluded.max_per_order, max_per_customer = excluded.max_per_customer,
        requires_auth = excluded.requires_auth, exclusive_group = excluded.exclusive_group,
        active = excluded.active, details_version = ver, version = greatest(p.version, ver),
        price = case when coalesce(p.price_version, -1) < ver then excluded.price else p.price end,
        price_version = greatest(coalesce(p.price_version, -1), ver), updated_at = now()
    where coalesce(p.details_version, -1) < ver;
    get diagnostics written = row_count;
    if written = 0 then
        return 'unchanged';  -- replayed, or overtaken by newer details (whose prices are newer too)
    end if;
    insert into product_variant as pv (id, product_id, sku, attributes, price, stock, active, price_version)
    select (x->>'id')::uuid, pid, x->>'sku', coalesce(x->'attributes', '{}'::jsonb), (x->>'price')::bigint, 0,
           coalesce((x->>'active')::boolean, true), ver
    from jsonb_array_elements(variants) x
    order by (x->>'id')::uuid
    on conflict (id) do update
    set sku = excluded.sku, attributes = excluded.attributes, active = excluded.active,
        price = case when coalesce(pv.price_version, -1) < ver then excluded.price else pv.price end,
        price_version = greatest(coalesce(pv.price_version, -1), ver), updated_at = now();
    -- Variants the shop no longer lists stop selling; kept, for the carts and orders that name them.
    update product_variant v set active = false, updated_at = now()
    where v.product_id = pid and v.active
      and v.id <> all (array(select (x->>'id')::uuid from jsonb_array_elements(variants) x));
    if item->>'stock' is not null then
        outcome := catalog_set_stock(pid, null, ver, (item->>'stock')::integer);
        clamped := outcome = 'clamped';
    end if;
    for v in select x from jsonb_array_elements(variants) x where x->>'stock' is not null loop
        outcome := catalog_set_stock(pid, (v->>'id')::uuid, ver, (v->>'stock')::integer);
        clamped := clamped or outcome = 'clamped';
    end loop;
    return case when clamped then 'clamped' else 'applied' end;
end
$$;

-- A batch of validated items (cart_common/catalog_sync.py: {i, type, productId, version, ...}),
-- applied in product id order (every writer of several products locks them in that order, so two
-- batches never deadlock); each item's outcome: applied, clamped, unchanged, or a refusal
-- (unknown_product, unknown_variant, slug_taken, sku_taken, variant_of_another_product,
-- currency_mismatch, invalid_price).
create function catalog_apply(items jsonb) returns table (i integer, product_id uuid, outcome text)
language plpgsql as $$
declare
    item jsonb;
    pid uuid;
    vid uuid;
    ver bigint;
begin
    for item in
        select x from jsonb_array_elements(items) x order by (x->>'productId')::uuid, (x->>'i')::integer
    loop
        i := (item->>'i')::integer;
        pid := (item->>'productId')::uuid;
        vid := (item->>'variantId')::uuid;
        ver := (item->>'version')::bigint;
        product_id := pid;
        outcome := case item->>'type'
            when 'ProductUpserted' then catalog_upsert_product(item)
            when 'PriceChanged' then catalog_set_price(pid, vid, ver, (item->>'price')::bigint, item->>'currency')
            when 'StockSet' then catalog_set_stock(pid, vid, ver, (item->>'stock')::integer)
            when 'StockAdjusted' then catalog_adjust_stock(pid, vid, ver, (item->>'delta')::integer)
            when 'ProductRetired' then catalog_retire(pid, ver)
            else 'unknown_type'
        end;
        return next;
    end loop;
end
$$;
