-- The codes applied to the cart, in the order they were applied (the order discounts are taken).
select d.code, d.kind, d.value, d.currency, d.min_subtotal, d.starts_at, d.ends_at, d.usage_limit,
       d.times_used, d.active, now() as now
from cart c
join cart_discount cd on cd.cart_id = c.id
join discount_code d on d.code = cd.code
where c.{owner_col} = %(owner)s and c.status = 'active'
order by cd.applied_at, d.code
