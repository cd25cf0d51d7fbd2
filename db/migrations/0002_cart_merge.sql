-- Sign-in merges a guest cart into the user's cart; the guest cart is kept, marked merged, so a
-- replayed merge (the Cognito trigger and the lazy path both firing, a retried request) is a no-op.
alter table cart
    add column merged_into uuid references cart on delete set null,
    add column merged_at   timestamptz,
    add constraint cart_merged_consistent check ((status = 'merged') = (merged_at is not null));

-- A replay finds the merged guest cart by its session.
create index cart_merged_session on cart (session_id) where status = 'merged';
