-- Checkout readiness: stock reservations held by an open checkout, and idempotency keys.

create table checkout (
    id           uuid primary key default gen_random_uuid(),
    cart_id      uuid not null references cart on delete cascade,
    status       text not null default 'open' check (status in ('open', 'completed', 'released')),
    expires_at   timestamptz not null,
    completed_at timestamptz,
    created_at   timestamptz not null default now()
);
-- A cart has at most one open checkout; a new one replaces it.
create unique index checkout_open_per_cart on checkout (cart_id) where status = 'open';
create index checkout_open_expiry on checkout (expires_at) where status = 'open';

-- Stock held for an open checkout until it expires. Available stock = stock - what other carts'
-- open, unexpired checkouts hold.
create table reservation (
    checkout_id uuid not null references checkout on delete cascade,
    product_id  uuid not null references product on delete cascade,
    variant_id  uuid references product_variant on delete cascade,
    quantity    integer not null check (quantity > 0),
    constraint reservation_line unique nulls not distinct (checkout_id, product_id, variant_id)
);
create index reservation_variant on reservation (variant_id) where variant_id is not null;
create index reservation_product on reservation (product_id) where variant_id is null;

-- Idempotency keys: stored in the same transaction as the change they guard, with the response
-- the first request got, scoped to the cart owner ("guest:<hash>" / "user:<sub>").
create table idempotency_key (
    owner        text not null,
    key          text not null,
    request_hash text not null,
    response     jsonb,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null default now() + interval '24 hours',
    primary key (owner, key)
);
create index idempotency_key_expiry on idempotency_key (expires_at);
