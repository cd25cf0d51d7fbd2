-- Issue 23: a shopper's named lists (a default "Wishlist" and others) and read-only share links to a
-- cart or a list (docs/lists.md).

-- A list belongs to one owner, as a cart does: a Cognito sub, or the SHA-256 of a guest token (never
-- the token). A guest's lists live as long as a guest cart (expires_at, slid by every change) and are
-- carried over to the user at sign-in (store/sql/merge_lists.sql), which clears the expiry: a user's
-- lists never expire. Names need not be unique; the default list is the one flagged is_default (at
-- most one per owner), where "Move to wishlist" puts a line. ``version`` is the list's If-Match / ETag.
create table shopping_list (
    id         uuid primary key default gen_random_uuid(),
    user_id    text,
    session_id text,
    name       text not null check (char_length(name) between 1 and 100),
    is_default boolean not null default false,
    version    integer not null default 1,
    expires_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (num_nonnulls(user_id, session_id) = 1)
);
create index shopping_list_user on shopping_list (user_id) where user_id is not null;
create index shopping_list_session on shopping_list (session_id) where session_id is not null;
create unique index shopping_list_default_user on shopping_list (user_id) where is_default and user_id is not null;
create unique index shopping_list_default_session on shopping_list (session_id)
    where is_default and session_id is not null;
create index shopping_list_expires_at on shopping_list (expires_at) where expires_at is not null;

-- A list's items: one per (list, product, variant), with the price and available stock it had when
-- saved (the list view shows today's beside them) and the shopper's own attributes (a gift note), so
-- a line moved to a list and back comes back as it was.
create table list_item (
    id                  uuid primary key default gen_random_uuid(),
    list_id             uuid not null references shopping_list on delete cascade,
    product_id          uuid not null references product on delete cascade,
    variant_id          uuid references product_variant on delete cascade,
    quantity            integer not null check (quantity > 0),
    price_at_save       bigint not null check (price_at_save >= 0),   -- minor units
    stock_at_save       integer not null,
    selected_attributes jsonb not null default '{}'::jsonb,
    saved_at            timestamptz not null default now(),
    constraint list_item_line unique nulls not distinct (list_id, product_id, variant_id)
);
create index list_item_product on list_item (product_id);
create index list_item_variant on list_item (variant_id);

-- A read-only share link: its id and expiry are what the signed token carries (cart_common/shares.py),
-- so a forged or expired token is refused before the database; the row is what makes it revocable
-- (revoking deletes it, as deleting its list or erasing its owner does: no row is "revoked"). A cart's
-- link keeps the cart's lines as they were shared (``lines``: product_id, variant_id, quantity; never
-- the shopper's own attributes); a list's link names the list, whose items it shows as they are.
create table share_link (
    id         uuid primary key,
    user_id    text,
    session_id text,
    list_id    uuid references shopping_list on delete cascade,
    lines      jsonb,
    expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    check (num_nonnulls(user_id, session_id) = 1),
    check ((list_id is null) <> (lines is null))
);
create index share_link_user on share_link (user_id) where user_id is not null;
create index share_link_session on share_link (session_id) where session_id is not null;
create index share_link_list on share_link (list_id) where list_id is not null;
create index share_link_expires_at on share_link (expires_at);
