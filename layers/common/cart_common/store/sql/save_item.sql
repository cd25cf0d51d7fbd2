-- Step 2 of saving a line for later: the line leaves the cart and joins the saved list (folded
-- into a saved item of the same product+variant) with the price and stock it has now, which the
-- cart view compares with the current ones (priceDropped, backInStock). The saved list holds at
-- most as many items as a cart may hold lines.
with line as (
    select i.id, i.cart_id, i.product_id, i.variant_id, i.quantity, i.selected_attributes, s.price,
           available_stock(c.id, i.product_id, i.variant_id) as stock
    from cart c
    join cart_item i on i.cart_id = c.id and i.id = %(item_id)s::uuid
    cross join lateral sellable(i.product_id, i.variant_id) s
    where c.{owner_col} = %(owner)s and c.status = 'active'
),
moved as (
    delete from cart_item i using line where i.id = line.id
),
saved as (
    insert into saved_item (cart_id, product_id, variant_id, quantity, price_at_save, stock_at_save,
                            selected_attributes)
    select cart_id, product_id, variant_id, quantity, price, stock, selected_attributes from line
    where %(max_lines)s::int is null
       or exists (select 1 from saved_item s where s.cart_id = line.cart_id and s.product_id = line.product_id
                                              and s.variant_id is not distinct from line.variant_id)
       or (select count(*) from saved_item s where s.cart_id = line.cart_id) < %(max_lines)s::int
    on conflict on constraint saved_item_line do update
    set quantity = saved_item.quantity + excluded.quantity,
        price_at_save = excluded.price_at_save,
        stock_at_save = excluded.stock_at_save,
        selected_attributes = joined_attributes(saved_item.selected_attributes, excluded.selected_attributes,
                                                %(max_attributes)s::int, %(max_attribute_bytes)s::int),
        saved_at = now()
    returning id
)
select case
    when exists (select 1 from saved) then 0
    when exists (select 1 from line) then refuse_limit('maxSavedItems', %(max_lines)s::int)
    else raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
end as outcome
