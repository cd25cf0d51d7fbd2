-- Cart core: the catalog the cart reads, carts, cart lines.
-- Forward-only: never edit a migration that has shipped; add a new file.

create table product (
    id            uuid primary key default gen_random_uuid(),
    name          text not null,
    slug          text not null unique,
    image_url     text,
    price         bigint not null check (price >= 0),          -- minor units
    currency      char(3) not null check (currency ~ '^[A-Z]{3}$'),
    stock         integer not null default 0 check (stock >= 0), -- used when the product has no variants
    max_per_order integer check (max_per_order > 0),
    active        boolean not null default true,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);

create table product_variant (
    id         uuid primary key default gen_random_uuid(),
    product_id uuid not null references product on delete cascade,
    sku        text not null unique,
    attributes jsonb not null default '{}'::jsonb,   -- e.g. {"size": "M", "colour": "red"}
    price      bigint check (price >= 0),            -- minor units; null = the product's price
    stock      integer not null default 0 check (stock >= 0),
    active     boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index product_variant_product_id on product_variant (product_id);

create table cart (
    id               uuid primary key default gen_random_uuid(),
    user_id          text,          -- Cognito sub
    session_id       text,          -- SHA-256 (hex) of the guest token, never the token
    status           text not null default 'active'
                     check (status in ('active', 'merged', 'converted')),
    version          integer not null default 1,
    currency         char(3) not null check (currency ~ '^[A-Z]{3}$'),
    expires_at       timestamptz not null default now() + interval '30 days',
    last_activity_at timestamptz not null default now(),
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    check (user_id is not null or session_id is not null)
);
-- At most one active cart per user and per guest session; these are also the lookup indexes.
create unique index cart_active_user on cart (user_id) where status = 'active';
create unique index cart_active_session on cart (session_id) where status = 'active';
create index cart_expires_at on cart (expires_at);

create table cart_item (
    id                  uuid primary key default gen_random_uuid(),
    cart_id             uuid not null references cart on delete cascade,
    product_id          uuid not null references product on delete cascade,
    variant_id          uuid references product_variant on delete cascade,
    quantity            integer not null check (quantity > 0),
    price_at_add        bigint not null check (price_at_add >= 0),   -- minor units
    selected_attributes jsonb not null default '{}'::jsonb,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    -- one line per (cart, product, variant); a product without variants has variant_id null
    constraint cart_item_line unique nulls not distinct (cart_id, product_id, variant_id)
);
create index cart_item_product_id on cart_item (product_id);
create index cart_item_variant_id on cart_item (variant_id);

-- Lets a single statement stop itself with a stable problem code: the data-access module
-- checks a rule inside the statement that writes, so a failed rule rolls back in the same
-- round trip instead of costing a second one.
create function raise_problem(code text, detail jsonb default '{}'::jsonb) returns integer
language plpgsql as $$
begin
    raise exception using errcode = 'P0001', message = code, detail = detail::text, hint = 'cart_problem';
end
$$;
