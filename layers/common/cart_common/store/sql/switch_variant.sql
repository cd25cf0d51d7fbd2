-- Step 2 of switching a line to another variant of its product; when the cart already has a line
-- of that variant, this line is folded into it (quantities added), so there is still one line per
-- variant.
with line as (
    select i.id, i.cart_id, i.product_id, i.quantity
    from cart c
    join cart_item i on i.cart_id = c.id and i.id = %(item_id)s::uuid
    where c.{owner_col} = %(owner)s and c.status = 'active'
),
target as (
    select s.variant_id, s.price, available_stock(line.cart_id, line.product_id, s.variant_id) as available,
           s.max_line, s.max_per_customer
    from line cross join lateral sellable(line.product_id, %(variant_id)s::uuid, %(max_line)s::int) s
    where s.active and s.variant_id is not null
),
other as (
    select i.id, i.quantity
    from cart_item i, line, target
    where i.cart_id = line.cart_id and i.product_id = line.product_id
      and i.variant_id = target.variant_id and i.id <> line.id
),
wanted as (
    select line.id, target.*,
           coalesce(%(quantity)s::int, line.quantity) + coalesce((select quantity from other), 0) as total,
           product_quantity(line.cart_id, line.product_id) - line.quantity
               + coalesce(%(quantity)s::int, line.quantity) as product_total
    from line, target
),
moved as (
    update cart_item i
    set variant_id = w.variant_id, price_at_add = w.price, quantity = w.total, updated_at = now()
    from wanted w
    where i.id = w.id and not exists (select 1 from other) and w.total <= least(w.max_line, w.available)
      and (w.max_per_customer is null or w.product_total <= w.max_per_customer)
    returning i.id
),
folded as (
    update cart_item i set quantity = w.total, updated_at = now()
    from wanted w, other o
    where i.id = o.id and w.total <= least(w.max_line, w.available)
      and (w.max_per_customer is null or w.product_total <= w.max_per_customer)
    returning i.id
),
dropped as (
    delete from cart_item i using line
    where i.id = line.id and exists (select 1 from folded)
    returning i.id
)
select case
    when not exists (select 1 from line) then
        raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
    when not exists (select 1 from target) then
        raise_problem('product_not_found', jsonb_build_object('variantId', %(variant_id)s::text))
    when exists (select 1 from moved) or exists (select 1 from folded) then 0
    when (select total > max_line from wanted) then refuse_limit('maxQuantityPerLine', (select max_line from wanted))
    when (select product_total > max_per_customer from wanted) then
        raise_problem('restricted', (select jsonb_build_object(
            'reason', 'max_per_customer', 'allowed', max_per_customer) from wanted))
    else
        raise_problem('insufficient_stock', (select jsonb_build_object('maxAvailable', available) from wanted))
end as outcome
