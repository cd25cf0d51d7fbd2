-- The day's most abandoned products (in how many CartAbandoned carts, how many units) and most removed
-- (how many lines the shopper removed, how many units: cart_line_removal), the first `top` of each,
-- when analytics_day.sql (re)computed the day in this transaction.
insert into analytics_day_product (kind, day, product_id, times, units)
select ranked.kind, %(day)s::date, ranked.product_id, ranked.times, ranked.units
from (
    select counted.*,
           row_number() over (partition by counted.kind
                              order by counted.times desc, counted.units desc, counted.product_id) as rank
    from (
        select 'abandoned' as kind, (l ->> 'productId')::uuid as product_id,
               count(distinct e.id) as times, sum((l ->> 'quantity')::bigint) as units
        from cart_event e
        cross join jsonb_array_elements(e.detail -> 'lines') l
        where e.detail_type = 'CartAbandoned'
          and e.created_at >= %(lo)s::timestamptz and e.created_at < %(hi)s::timestamptz
        group by 2
        union all
        select 'removed', r.product_id, count(*), sum(r.quantity)
        from cart_line_removal r
        where r.removed_at >= %(lo)s::timestamptz and r.removed_at < %(hi)s::timestamptz
        group by 2
    ) counted
) ranked
where ranked.rank <= %(top)s::int
  and exists (select 1 from analytics_day a where a.day = %(day)s::date and a.computed_at = now())
