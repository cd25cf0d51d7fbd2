-- Step 2 of POST /cart/items/:itemId/move-to-list (step 1, touch_cart, locked the cart and checked its
-- If-Match): the line leaves the cart for a list of the owner's (``list_id``; null: the default
-- Wishlist, made on first use within the limit of lists), folded into the item of the same
-- product+variant, with its attributes and its price and available stock now. The list's version is
-- raised (a list made here starts at 1). Refused (another owner's list, a limit), the line stays.
with line as (
    select i.id, i.product_id, i.variant_id, i.quantity, i.selected_attributes, s.price,
           available_stock(c.id, i.product_id, i.variant_id) as stock
    from cart c
    join cart_item i on i.cart_id = c.id and i.id = %(item_id)s::uuid
    cross join lateral sellable(i.product_id, i.variant_id) s
    where c.{owner_col} = %(owner)s and c.status = 'active'
),
named as (
    select l.id from shopping_list l
    where l.{owner_col} = %(owner)s
      and (l.id = %(list_id)s::uuid or (%(list_id)s::uuid is null and l.is_default))
),
made as (
    insert into shopping_list ({owner_col}, name, is_default, expires_at)
    select %(owner)s, %(default_name)s, true, now() + %(ttl_days)s::float8 * interval '1 day'
    where %(list_id)s::uuid is null and exists (select 1 from line) and not exists (select 1 from named)
      and (select count(*) from shopping_list where {owner_col} = %(owner)s) < %(max_lists)s::int
    returning id
),
target as (
    select t.id, i.quantity as in_list,
           (select count(*) from list_item n where n.list_id = t.id) as items
    from (select id from named union all select id from made) t
    cross join line
    left join list_item i on i.list_id = t.id and i.product_id = line.product_id
                         and i.variant_id is not distinct from line.variant_id
),
checked as (
    select target.*,
           case
               when coalesce(in_list, 0) + (select quantity from line) > %(max_line)s::int then 'quantity'
               when in_list is null and items >= %(max_items)s::int then 'items'
           end as refused
    from target
),
moved as (
    delete from cart_item i using line where i.id = line.id and exists (select 1 from checked where refused is null)
),
saved as (
    insert into list_item (list_id, product_id, variant_id, quantity, price_at_save, stock_at_save,
                           selected_attributes)
    select checked.id, line.product_id, line.variant_id, line.quantity, line.price, line.stock,
           line.selected_attributes
    from checked cross join line
    where checked.refused is null
    on conflict on constraint list_item_line do update
    set quantity = list_item.quantity + excluded.quantity,
        price_at_save = excluded.price_at_save,
        stock_at_save = excluded.stock_at_save,
        selected_attributes = joined_attributes(list_item.selected_attributes, excluded.selected_attributes,
                                                %(max_attributes)s::int, %(max_attribute_bytes)s::int),
        saved_at = now()
    returning id
),
bumped as (
    update shopping_list l
    set version = l.version + 1, updated_at = now(),
        expires_at = greatest(l.expires_at, now() + %(ttl_days)s::float8 * interval '1 day')
    from named
    where l.id = named.id and exists (select 1 from checked where refused is null)
)
select case
    when not exists (select 1 from line) then
        raise_problem('item_not_found', jsonb_build_object('itemId', %(item_id)s::text))
    when %(list_id)s::uuid is not null and not exists (select 1 from named) then
        raise_problem('list_not_found', jsonb_build_object('listId', %(list_id)s::text))
    when not exists (select 1 from checked) then
        raise_problem('list_limit_exceeded', jsonb_build_object('limit', 'maxLists', 'allowed', %(max_lists)s::int))
    when (select refused from checked) = 'quantity' then
        raise_problem('list_limit_exceeded', jsonb_build_object(
            'limit', 'maxQuantityPerItem', 'allowed', %(max_line)s::int))
    when (select refused from checked) = 'items' then
        raise_problem('list_limit_exceeded', jsonb_build_object(
            'limit', 'maxListItems', 'allowed', %(max_items)s::int))
    else 0
end as outcome
