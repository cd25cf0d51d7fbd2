-- Cart lifecycle sweep: retention of abandoned-cart records, and the indexes the sweep's batches need.

-- An abandoned-cart record older than ABANDONED_RETENTION_DAYS is anonymised (see
-- cart_common/lifecycle.py): the listing stops showing who it was, and a cart that is no longer
-- active loses its owner keys altogether, so such a cart may have neither user_id nor session_id.
-- An active cart always keeps its owner: it is still the shopper's cart until it expires.
alter table cart add column anonymised_at timestamptz;
alter table cart drop constraint cart_check;
alter table cart add constraint cart_owner
    check (user_id is not null or session_id is not null or (anonymised_at is not null and status <> 'active'));
create index cart_to_anonymise on cart (abandoned_at) where abandoned_at is not null and anonymised_at is null;

-- Deleting a cart sets merged_into to null in the guest carts merged into it: without an index each
-- deleted cart would scan the whole table. The sweep also asks "is anything merged into this cart?".
create index cart_merged_into on cart (merged_into) where merged_into is not null;

-- "Has this user had any cart (of any status) active lately?", for the email retention rule.
create index cart_user_id on cart (user_id, last_activity_at) where user_id is not null;
