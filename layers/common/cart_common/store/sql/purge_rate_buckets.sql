-- Rate-limit buckets that have refilled (a missing bucket is a full one), one bounded batch; and
-- how many users' checkout buckets are empty now (cut off for hoarding: the sweep's metric).
with due as materialized (
    select key from rate_bucket where full_at < now() limit %(batch)s for update skip locked
),
gone as (
    delete from rate_bucket b using due where b.key = due.key and b.full_at < now()
    returning 1
)
select count(*) as purged,
       (select count(*) from rate_bucket
        where key like 'checkouts:%%' and tokens + extract(epoch from now() - at) * %(checkout_rate)s < 1
       ) as checkouts_limited
from gone
