-- POST /lists and POST /cart/save-as-list: a new list (its id chosen by the caller, so the list view
-- after it in the round trip can read it), within the owner's limit of lists (exact: every change of an
-- owner's lists holds their lists lock). ``from_cart``: with the cart's lines as its items (an empty
-- cart is cart_empty), with their attributes, price and available stock now. A guest's list expires
-- like a guest cart (``ttl_days``; null for a user: never).
with owned as (
    select count(*) as lists from shopping_list where {owner_col} = %(owner)s
),
cart_ as (
    select c.id, c.version from cart c
    where %(from_cart)s::boolean and c.{owner_col} = %(owner)s and c.status = 'active'
),
lines_ as (
    select i.product_id, i.variant_id, i.quantity, i.selected_attributes, s.price,
           available_stock(cart_.id, i.product_id, i.variant_id) as stock, i.created_at
    from cart_ join cart_item i on i.cart_id = cart_.id
    cross join lateral sellable(i.product_id, i.variant_id) s
),
made as (
    insert into shopping_list (id, {owner_col}, name, expires_at)
    select %(list_id)s::uuid, %(owner)s, %(name)s, now() + %(ttl_days)s::float8 * interval '1 day'
    from owned where lists < %(max_lists)s::int
    returning id
),
items as (
    insert into list_item (list_id, product_id, variant_id, quantity, price_at_save, stock_at_save,
                           selected_attributes, saved_at)
    -- saved_at keeps the cart's order (a restore adds them back in it)
    select made.id, l.product_id, l.variant_id, l.quantity, l.price, l.stock,
           l.selected_attributes, now() + (row_number() over (order by l.created_at) - 1) * interval '1 microsecond'
    from made cross join lines_ l
)
select case
    when %(from_cart)s::boolean and not exists (select 1 from cart_) then raise_problem('cart_empty')
    -- "the cart as I saw it": a stale If-Match is the cart's 409 version_conflict
    when %(from_cart)s::boolean and %(expected)s::int is not null
         and (select version from cart_) <> %(expected)s::int then raise_problem('version_conflict')
    when %(from_cart)s::boolean and not exists (select 1 from lines_) then raise_problem('cart_empty')
    when not exists (select 1 from made) then raise_problem('list_limit_exceeded', jsonb_build_object(
        'limit', 'maxLists', 'allowed', %(max_lists)s::int))
    when (select count(*) from lines_) > %(max_items)s::int then raise_problem('list_limit_exceeded',
        jsonb_build_object('limit', 'maxListItems', 'allowed', %(max_items)s::int))
    else 0
end as outcome
