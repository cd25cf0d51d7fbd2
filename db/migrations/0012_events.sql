-- The cart speaks in events (issue 20): an outbox written in the transaction of the change it
-- describes, published right after the commit by the process that made the change
-- (cart_common/events.py), and by the relay (functions/publish_events) when that process died
-- between the commit and the publish. docs/events.md has every event's schema.

create table cart_event (
    id           uuid primary key default gen_random_uuid(),  -- the detail's eventId: consumers dedupe on it
    detail_type  text not null,
    detail       jsonb not null,
    created_at   timestamptz not null default now(),          -- the detail's occurredAt (the change's transaction)
    published_at timestamptz,
    -- The writing transaction: the statement a change's pipeline ends with reads back the events its
    -- own transaction wrote (pg_current_xact_id_if_assigned()), without naming them.
    tx           xid8 not null default pg_current_xact_id()
);
-- Unpublished rows are few (published within milliseconds): both indexes stay tiny.
create index cart_event_unpublished_tx on cart_event (tx) where published_at is null;
create index cart_event_unpublished on cart_event (created_at) where published_at is null;
-- The sweep deletes published events after a week.
create index cart_event_published on cart_event (published_at) where published_at is not null;

-- Completion: the order that completed a checkout (a replay with the same order is answered as done,
-- another order is a conflict), and why a checkout was released, when the release said so.
alter table checkout
    add column order_id       text,
    add column release_reason text;

-- Saved-for-later notices, once per item and change: the price last announced as a drop (null: none
-- yet, compare with price_at_save), and whether the item was last seen in stock (null: as when saved).
alter table saved_item
    add column notified_price bigint,
    add column seen_in_stock  boolean;

-- State changes of checkouts and carts are announced by triggers, in the statement that makes them,
-- whichever statement that is (a cart change releasing the checkout, a re-checkout, the release
-- route; the merge route, the lazy merge and the sign-in trigger; a completion or recovery link).

create function cart_event_on_checkout() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into cart_event (detail_type, detail)
        select 'CheckoutStarted', jsonb_build_object(
            'checkoutId', new.id, 'cartId', new.cart_id, 'userId', c.user_id, 'currency', c.currency,
            'expiresAt', new.expires_at,
            'lines', coalesce((
                select jsonb_agg(jsonb_build_object(
                    'productId', i.product_id, 'variantId', i.variant_id, 'quantity', i.quantity,
                    'unitPrice', i.price_at_add) order by i.created_at, i.id)
                from cart_item i where i.cart_id = new.cart_id), '[]'::jsonb))
        from cart c where c.id = new.cart_id;
    elsif old.status = 'open' and new.status = 'released' then
        insert into cart_event (detail_type, detail)
        select 'CheckoutReleased', jsonb_build_object(
            'checkoutId', new.id, 'cartId', new.cart_id, 'userId', c.user_id,
            -- a change to the cart (or a new checkout of it) released it unless the release said why
            'reason', coalesce(new.release_reason, 'cart_changed'))
        from cart c where c.id = new.cart_id;
    end if;
    return null;
end
$$;

create trigger checkout_events after insert or update of status on checkout
    for each row execute function cart_event_on_checkout();

create function cart_event_on_cart() returns trigger
language plpgsql as $$
begin
    if old.status = 'active' and new.status = 'merged' then
        insert into cart_event (detail_type, detail)
        select 'GuestCartMerged', jsonb_build_object(
            'outcome', 'merged', 'guestCartId', new.id, 'cartId', new.merged_into, 'userId', u.user_id,
            'mergedAt', now())
        from cart u where u.id = new.merged_into;
    end if;
    if old.adopted_from_session is null and new.adopted_from_session is not null then
        -- the user had no cart: the guest cart became theirs
        insert into cart_event (detail_type, detail)
        values ('GuestCartMerged', jsonb_build_object(
            'outcome', 'adopted', 'guestCartId', new.id, 'cartId', new.id, 'userId', new.user_id, 'mergedAt', now()));
    end if;
    if old.recovered_at is null and new.recovered_at is not null then
        insert into cart_event (detail_type, detail)
        values ('CartRecovered', jsonb_build_object(
            'cartId', new.id, 'userId', new.user_id, 'currency', new.currency,
            'abandonedValue', new.abandoned_value, 'recoveredAt', new.recovered_at,
            'orderId', (select k.order_id from checkout k
                        where k.cart_id = new.id and k.status = 'completed'
                        order by k.completed_at desc limit 1)));
    end if;
    return null;
end
$$;

-- The WHEN clause keeps the everyday change (a version bump) from calling the function at all.
create trigger cart_events after update of status, adopted_from_session, recovered_at on cart
    for each row
    when (old.status is distinct from new.status
          or old.adopted_from_session is distinct from new.adopted_from_session
          or old.recovered_at is distinct from new.recovered_at)
    execute function cart_event_on_cart();
