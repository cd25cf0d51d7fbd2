-- DELETE /admin/users/:userId/data and the user pool's account deletion: every row that names the
-- user ``user_id`` (a Cognito sub) or one of their carts, in one statement after the owner lock and
-- the carts' checkouts (store/erasure.py), counted before it goes.
-- Their carts are the user's own (any status) and the guest carts merged into them; their owners
-- are the user and the guest sessions of those carts (idempotency keys and rate buckets are keyed
-- "<kind>:<key>", a bucket's name before that). Deleting the carts takes their lines, saved items,
-- applied codes, checkouts and reservations along (on delete cascade): held stock is available again.
-- An outbox event names them when its detail holds the sub, the stored email or a cart id as a JSON
-- string (the sub's characters need no escaping: the route admits no quote or backslash).
-- Their lists and share links (issue 23) are the user's own and any still under one of those guest
-- sessions (a sign-in merge re-keys them to the user); deleting a list takes its items along.
with recursive carts_ as (
    select id, session_id, adopted_from_session from cart where user_id = %(user_id)s
    union
    select c.id, c.session_id, c.adopted_from_session from cart c join carts_ u on c.merged_into = u.id
),
owners as (
    select 'user:' || %(user_id)s as owner
    union select 'guest:' || session_id from carts_ where session_id is not null
    union select 'guest:' || adopted_from_session from carts_ where adopted_from_session is not null
),
sessions as (
    select session_id from carts_ where session_id is not null
    union select adopted_from_session from carts_ where adopted_from_session is not null
),
lists_ as (
    select id from shopping_list
    where user_id = %(user_id)s or session_id in (select session_id from sessions)
),
names as (
    select %(user_id)s::text as name
    union select id::text from carts_
    union select email from shopper where user_id = %(user_id)s and email is not null
),
counted as (
    select
        (select count(*) from cart_item where cart_id in (select id from carts_)) as lines,
        (select count(*) from saved_item where cart_id in (select id from carts_)) as saved_items,
        (select count(*) from cart_discount where cart_id in (select id from carts_)) as discount_links,
        (select count(*) from checkout where cart_id in (select id from carts_)) as checkouts,
        (select count(*) from checkout where cart_id in (select id from carts_)
            and status = 'open' and expires_at > now()) as open_checkouts_released,
        (select count(*) from reservation r join checkout k on k.id = r.checkout_id
            where k.cart_id in (select id from carts_)) as reservations,
        (select count(*) from lists_) as lists,
        (select count(*) from list_item where list_id in (select id from lists_)) as list_items
),
lists_gone as (
    delete from shopping_list where id in (select id from lists_) returning 1
),
links_gone as (
    delete from share_link
    where user_id = %(user_id)s or session_id in (select session_id from sessions)
    returning 1
),
carts_gone as (
    delete from cart where id in (select id from carts_) returning 1
),
shopper_gone as (
    delete from shopper where user_id = %(user_id)s returning 1
),
keys_gone as (
    delete from idempotency_key where owner in (select owner from owners) returning 1
),
buckets_gone as (
    delete from rate_bucket where substr(key, strpos(key, ':') + 1) in (select owner from owners) returning 1
),
events_gone as (
    delete from cart_event e
    where exists (select 1 from names n where strpos(e.detail::text, '"' || n.name || '"') > 0)
    returning 1
)
select (select count(*) from carts_gone) as carts, c.lines, c.saved_items, c.discount_links, c.checkouts,
       c.open_checkouts_released, c.reservations, c.lists, c.list_items,
       (select count(*) from links_gone) as share_links,
       (select count(*) from shopper_gone) as shopper_rows,
       (select count(*) from keys_gone) as idempotency_keys,
       (select count(*) from buckets_gone) as rate_buckets,
       (select count(*) from events_gone) as events
from counted c
