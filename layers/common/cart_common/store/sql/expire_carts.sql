-- Expired carts of every kind: guest and user carts past expires_at (which every change slides
-- forward by GUEST_/USER_CART_TTL_DAYS), and merged or converted carts past theirs. A cart that a
-- merged guest cart still points at waits for that guest cart to go first (it always expires
-- earlier with the default TTLs): deleting it would update the guest cart's merged_into, a row
-- another sweep may hold, and two sweeps holding each other's pairs would deadlock.
with doomed as materialized (
    select c.id from cart c
    where c.expires_at < now()
      and not exists (select 1 from cart g where g.merged_into = c.id)
      -- a cart whose open checkout still holds stock is never swept (see lifecycle.py in this package)
      and not exists (select 1 from checkout k where k.cart_id = c.id and k.status = 'open' and k.expires_at > now())
    order by c.expires_at
    limit %(batch)s
    for update of c skip locked
),
gone as (
    delete from cart c
    where c.id = any(array(select id from doomed)) and c.expires_at < now()
    returning c.status, c.user_id is not null as user_cart
)
select count(*) as expired,
       count(*) filter (where status = 'active' and not user_cart) as guest,
       count(*) filter (where status = 'active' and user_cart) as user,
       count(*) filter (where status <> 'active') as closed
from gone
