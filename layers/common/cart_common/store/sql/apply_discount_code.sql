-- Step 2 of applying a code: the rules that hold when it is applied (known, active, in its window,
-- uses left, minimum subtotal at current prices, currency); later the totals re-check them. A cart
-- without lines (never filled, cleared, or every line saved for later) takes no code.
with c as (
    select id, currency from cart where {owner_col} = %(owner)s and status = 'active'
),
d as (
    select * from discount_code where code = upper(%(code)s)
),
checked as (
    select d.code, case
        when not d.active then 'inactive'
        when d.starts_at is not null and now() < d.starts_at then 'not_yet_valid'
        when d.ends_at is not null and now() >= d.ends_at then 'expired'
        when d.usage_limit is not null and d.times_used >= d.usage_limit then 'usage_limit_reached'
        when cart_value(c.id) < d.min_subtotal then 'minimum_not_met'
        when d.kind = 'fixed' and d.currency <> c.currency then 'currency_mismatch'
    end as refused, d.min_subtotal
    from d, c
),
applied as (
    insert into cart_discount (cart_id, code)
    select c.id, checked.code from c, checked where checked.refused is null
    on conflict do nothing
    returning 1
)
select case
    -- a cart without lines (never filled, cleared, or every line saved for later) takes no code
    when not exists (select 1 from c join cart_item i on i.cart_id = c.id) then raise_problem('cart_empty')
    when not exists (select 1 from d) then
        raise_problem('discount_code_invalid', jsonb_build_object('discountCode', upper(%(code)s), 'reason', 'unknown'))
    when (select refused from checked) is not null then
        raise_problem('discount_code_invalid', (select jsonb_build_object(
            'discountCode', code, 'reason', refused, 'minSubtotal', min_subtotal) from checked))
    else 0
end as outcome
