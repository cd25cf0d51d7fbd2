-- Cart features: purchase restrictions in the catalog, discount codes, saved-for-later.

alter table product
    add column requires_auth    boolean not null default false,  -- guests cannot add it
    add column max_per_customer integer check (max_per_customer > 0), -- across all its variants, per cart
    add column exclusive_group  text;                             -- two products of one group can't share a cart
create index product_exclusive_group on product (exclusive_group) where exclusive_group is not null;

create table discount_code (
    code         text primary key check (code = upper(code)),  -- matched case-insensitively
    kind         text not null check (kind in ('percent', 'fixed')),
    value        bigint not null check (value > 0),              -- percent (1-100) or minor units
    currency     char(3),                                        -- required for fixed amounts
    min_subtotal bigint not null default 0 check (min_subtotal >= 0),
    starts_at    timestamptz,
    ends_at      timestamptz,
    usage_limit  integer check (usage_limit > 0),
    times_used   integer not null default 0,
    active       boolean not null default true,
    created_at   timestamptz not null default now(),
    check (kind <> 'percent' or value <= 100),
    check (kind <> 'fixed' or currency is not null)
);

create table cart_discount (
    cart_id    uuid not null references cart on delete cascade,
    code       text not null references discount_code on delete cascade,
    applied_at timestamptz not null default now(),
    primary key (cart_id, code)
);

create table saved_item (
    id                  uuid primary key default gen_random_uuid(),
    cart_id             uuid not null references cart on delete cascade,
    product_id          uuid not null references product on delete cascade,
    variant_id          uuid references product_variant on delete cascade,
    quantity            integer not null check (quantity > 0),
    price_at_save       bigint not null check (price_at_save >= 0),
    stock_at_save       integer not null,
    selected_attributes jsonb not null default '{}'::jsonb,
    saved_at            timestamptz not null default now(),
    constraint saved_item_line unique nulls not distinct (cart_id, product_id, variant_id)
);
create index saved_item_product on saved_item (product_id);
