-- Step 2 of setting a line's quantity (0 is a removal, routed to remove_line): the rules of an add
-- for what the line would hold. Lowering a quantity is always allowed.
with line as (
    select i.id, i.quantity, available_stock(c.id, i.product_id, i.variant_id) as available, s.price, s.max_line, s.active, s.max_per_customer,
           product_quantity(c.id, i.product_id) as product_in_cart,
           cart_value(c.id) as cart_value
    from cart c
    join cart_item i on i.cart_id = c.id and i.id = %(item_id)s::uuid
    cross join lateral sellable(i.product_id, i.variant_id, %(max_line)s::int) s
    where c.{owner_col} = %(owner)s and c.status = 'active'
),
checked as (
    select *,
           case
               when not active then 'unavailable'
               when %(quantity)s::int > max_line then 'line'
               when product_in_cart - quantity + %(quantity)s::int > max_per_customer then 'per_customer'
               when %(quantity)s::int > quantity
                    and cart_value + price::numeric * (%(quantity)s::int - quantity) > %(max_value)s::bigint
                   then 'value'
               when %(quantity)s::int > available then 'stock'
           end as refused
    from line
),
changed as (
    update cart_item i set quantity = %(quantity)s::int, updated_at = now()
    from checked
    where i.id = checked.id and checked.refused is null
    returning i.id
)
select case
    when not exists (select 1 from line) then
        raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
    when exists (select 1 from changed) then 0
    else (select case refused
        when 'unavailable' then raise_problem('product_unavailable', jsonb_build_object('itemId', %(item_id)s::text))
        when 'line' then refuse_limit('maxQuantityPerLine', max_line)
        when 'per_customer' then raise_problem('restricted', jsonb_build_object(
            'reason', 'max_per_customer', 'allowed', max_per_customer, 'inCart', product_in_cart))
        when 'value' then refuse_limit('maxCartValue', %(max_value)s::bigint, jsonb_build_object('cartValue', cart_value))
        else raise_problem('insufficient_stock', jsonb_build_object('maxAvailable', available))
    end from checked)
end as outcome
