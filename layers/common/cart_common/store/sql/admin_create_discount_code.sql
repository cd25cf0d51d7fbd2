-- POST /admin/discount-codes: a new code (its name upper-case, as shoppers' codes are matched); a
-- name already used, even by a retired code, is discount_code_exists (carts may still show it).
with inserted as (
    insert into discount_code (code, kind, value, currency, min_subtotal, starts_at, ends_at, usage_limit)
    values (upper(%(code)s), %(kind)s, %(value)s, %(currency)s, %(min_subtotal)s, %(starts_at)s, %(ends_at)s,
            %(usage_limit)s)
    on conflict (code) do nothing
    returning *
)
select i.*, case when i.code is null then
    raise_problem('discount_code_exists', jsonb_build_object('discountCode', upper(%(code)s))) else 0 end as outcome
from (select 1) one left join inserted i on true
