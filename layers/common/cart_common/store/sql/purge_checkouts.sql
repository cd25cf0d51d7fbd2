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
    returning k.status, k.token_bucket, k.token_quota
),
expired_tokens as (
    -- an expired reservation gives its checkout token back (store/limits.py); a released one did already
    update rate_bucket b set tokens = least(g.token_quota, b.tokens + 1)
    from gone g where g.status = 'open' and b.key = g.token_bucket
)
select count(*) as purged from gone
