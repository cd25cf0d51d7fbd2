-- Cart lifecycle: abandoned-cart tracking and recovery, and the shopper's email for win-back.

-- The sweep marks a cart abandoned (abandoned_at) with a snapshot of its value and items; any later
-- activity clears the mark but keeps the snapshot, so a cart converted after a win-back can still
-- be recognised as recovered (recovered_at).
alter table cart
    add column abandoned_at    timestamptz,
    add column abandoned_value bigint,
    add column abandoned_items jsonb,
    add column recovered_at    timestamptz;

create index cart_abandoned on cart (abandoned_value desc, last_activity_at desc) where abandoned_at is not null;
create index cart_last_activity on cart (last_activity_at) where status = 'active' and abandoned_at is null;

-- Signed-in shoppers' email, captured from Cognito at sign-in and from ID-token claims; joined
-- into the abandoned-cart listing. Anonymised by the retention sweep.
create table shopper (
    user_id    text primary key,        -- Cognito sub
    email      text,
    updated_at timestamptz not null default now()
);
