-- GET /admin/analytics/carts: the rollup's days from..to (inclusive) by bucket (day, week, month; a
-- bucket starts at the range's start at the earliest). Flows are summed; active is the stock of the
-- bucket's last day that has one. Days without a row count nothing (no_data: how many).
with days as (
    select d::date as day
    from generate_series(%(start)s::date, %(end)s::date, interval '1 day') d
)
select greatest(date_trunc(%(bucket)s, days.day)::date, %(start)s::date) as start,
       max(days.day) as last_day,
       coalesce(sum(a.created), 0)::bigint as created,
       (array_agg(a.active order by days.day desc) filter (where a.active is not null))[1] as active,
       coalesce(sum(a.abandoned), 0)::bigint as abandoned,
       coalesce(sum(a.recovered), 0)::bigint as recovered,
       coalesce(sum(a.converted), 0)::bigint as converted,
       coalesce(sum(a.refused_stock), 0)::bigint as refused_stock,
       coalesce(sum(a.refused_limits), 0)::bigint as refused_limits,
       coalesce(sum(a.refused_rules), 0)::bigint as refused_rules,
       count(*) filter (where a.day is null) as no_data
from days
left join analytics_day a on a.day = days.day and a.day between %(start)s::date and %(end)s::date
group by 1
order by 1
