-- Checkouts whose reservation is over: expired while open, or released by a change to the cart.
-- Deleting them (reservations cascade) frees nothing that still counts (only open, unexpired
-- checkouts hold stock), so this is housekeeping, bounded like the rest; completed ones stay.
with due as materialized (
    select k.id from checkout k
    where k.status = 'released' or (k.status = 'open' and k.expires_at < now())
    order by k.created_at
    limit %(batch)s
    for update skip locked
),
gone as (
    delete from checkout k
    where k.id = any(array(select id from due))
      and (k.status = 'released' or (k.status = 'open' and k.expires_at < now()))
    returning 1
)
select count(*) as purged from gone
