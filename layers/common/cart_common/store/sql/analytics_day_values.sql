-- The value of the day's abandoned carts (CartAbandoned's value: the lines at the prices of the mark)
-- and converted carts (CheckoutCompleted's subtotal: the lines at the prices reserved) per currency,
-- when analytics_day.sql (re)computed the day in this transaction (its computed_at is now()).
insert into analytics_day_value (kind, day, currency, carts, total)
select v.kind, %(day)s::date, v.currency, count(*), sum(v.value)
from (
    select case e.detail_type when 'CartAbandoned' then 'abandoned' else 'converted' end as kind,
           e.detail ->> 'currency' as currency,
           (e.detail ->> case e.detail_type when 'CartAbandoned' then 'value' else 'subtotal' end)::numeric as value
    from cart_event e
    where e.detail_type = any(array['CartAbandoned', 'CheckoutCompleted'])
      and e.created_at >= %(lo)s::timestamptz and e.created_at < %(hi)s::timestamptz
) v
where exists (select 1 from analytics_day a where a.day = %(day)s::date and a.computed_at = now())
group by v.kind, v.currency
