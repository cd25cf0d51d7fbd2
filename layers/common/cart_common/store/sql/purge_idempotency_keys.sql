-- Idempotency keys past their 24 hours, one bounded batch.
with due as materialized (
    select owner, key from idempotency_key where expires_at < now()
    order by expires_at limit %(batch)s for update skip locked
),
gone as (
    delete from idempotency_key k using due
    where k.owner = due.owner and k.key = due.key and k.expires_at < now()
    returning 1
)
select count(*) as purged from gone
