-- DELETE /admin/discount-codes/:code: the code stops applying (carts that hold it show it with
-- reason inactive and take nothing off); the row stays, so its name is never reused for another
-- offer and completed orders keep what they counted. Retiring a retired code changes nothing.
with retired as (
    update discount_code set active = false where code = upper(%(code)s) returning *
)
select r.*, case when r.code is null then
    raise_problem('discount_code_not_found', jsonb_build_object('discountCode', upper(%(code)s))) else 0 end as outcome
from (select 1) one left join retired r on true
