-- One day of the cart analytics rollup (cart_common/analytics.py), [lo, hi) in UTC: the carts created
-- that day, the outbox's CartAbandoned, CartRecovered and CheckoutCompleted rows written that day
-- (each written once, in the transaction of what it tells), the day's refusal counters, and, while the
-- day runs (live), the carts open now: active, not marked abandoned, changed within the abandonment
-- window. A final day is left as it is; the row becomes final when this run started after the day's
-- end and the grace period (no transaction that started that day can still commit a row of it).
-- Returns the row when this run wrote it.
with outcomes as (
    select count(*) filter (where e.detail_type = 'CartAbandoned') as abandoned,
           count(*) filter (where e.detail_type = 'CartRecovered') as recovered,
           count(*) filter (where e.detail_type = 'CheckoutCompleted') as converted
    from cart_event e
    where e.detail_type = any(array['CartAbandoned', 'CartRecovered', 'CheckoutCompleted'])
      and e.created_at >= %(lo)s::timestamptz and e.created_at < %(hi)s::timestamptz
),
refused as (
    select * from analytics_refusals(%(day)s::date)
)
insert into analytics_day as a (day, created, active, abandoned, recovered, converted,
                                refused_stock, refused_limits, refused_rules, final, computed_at)
select %(day)s::date,
       (select count(*) from cart c
        where c.created_at >= %(lo)s::timestamptz and c.created_at < %(hi)s::timestamptz),
       case when %(live)s::boolean then (
           select count(*) from cart c
           where c.status = 'active' and c.abandoned_at is null
             and c.last_activity_at >= now() - %(active_hours)s::float8 * interval '1 hour')
       end,
       o.abandoned, o.recovered, o.converted,
       (select stock from refused), (select limits from refused), (select rules from refused),
       now() >= %(hi)s::timestamptz + %(grace_minutes)s::float8 * interval '1 minute',
       now()
from outcomes o
on conflict (day) do update
set created = excluded.created,
    active = coalesce(excluded.active, a.active),  -- the count of the day's last run while it ran
    abandoned = excluded.abandoned,
    recovered = excluded.recovered,
    converted = excluded.converted,
    refused_stock = excluded.refused_stock,
    refused_limits = excluded.refused_limits,
    refused_rules = excluded.refused_rules,
    final = excluded.final,
    computed_at = excluded.computed_at
where not a.final
returning a.day, a.created, a.active, a.abandoned, a.recovered, a.converted,
          a.refused_stock, a.refused_limits, a.refused_rules, a.final
