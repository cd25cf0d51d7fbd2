-- Issue 21 (admin API, public catalog, erasure): what the admin routes and the catalog route need of
-- the schema beyond what the cart and the catalog events (0015) already keep.

-- The product's version is shared with the catalog events (0015 adds it; kept here so this file reads
-- on its own). Events are ordered per part of a product (details, price, stock) by the shop's
-- versions: a counter or epoch milliseconds. An admin's edit must not be undone by an event that
-- describes an older state, so it takes the version of "now" in the milliseconds domain, and one
-- more than the product had when two edits share a millisecond: the product's version and the
-- version of every part it writes (store/sql/admin_*.sql). An event newer than the edit (a later
-- count, a later price) still applies; an older or replayed one changes nothing. A shop that counts
-- versions from 1 instead of sending epoch milliseconds should not also edit those parts by hand:
-- its events would stay below the edit's version (docs/admin.md).
alter table product add column if not exists version bigint not null default 0;

create function admin_version(current_version bigint) returns bigint
language sql stable as $$
    select greatest(current_version + 1, (extract(epoch from now()) * 1000)::bigint)
$$;

-- The public listing pages through active products by slug (keyset: slug > the cursor).
create index product_active_slug on product (slug) where active;
