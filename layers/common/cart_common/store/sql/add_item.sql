-- Step 2 of an add, and of a restore (which adds a saved item back: saved_id names it and the
-- add's own parameters are null; the saved item goes once its line is written, and a refused
-- restore leaves it saved), and of a list item moved to the cart (list_item_id in list_id, likewise).
-- Every rule of an add is checked here; the first one broken, in the
-- order a shopper should hear about them, stops the whole change with its problem.
with request_ as (
    select %(product_id)s::uuid as product_id, %(variant_id)s::uuid as variant_id,
           %(quantity)s::int as quantity, %(attributes)s::jsonb as attributes, null::uuid as saved_id,
           null::uuid as list_item_id
    where %(saved_id)s::uuid is null and %(list_item_id)s::uuid is null
    union all
    select s.product_id, s.variant_id, s.quantity, s.selected_attributes, s.id, null
    from cart c join saved_item s on s.cart_id = c.id and s.id = %(saved_id)s::uuid
    where c.{owner_col} = %(owner)s and c.status = 'active'
    union all
    select i.product_id, i.variant_id, i.quantity, i.selected_attributes, null, i.id
    from shopping_list l join list_item i on i.list_id = l.id and i.id = %(list_item_id)s::uuid
    where l.id = %(list_id)s::uuid and l.{owner_col} = %(owner)s
),
-- an empty cart takes the currency of the product being added (it was created in, or kept, the
-- currency of products it no longer holds)
cart_ as (
    select c.id,
           case when exists (select 1 from cart_item i where i.cart_id = c.id) then c.currency
                else coalesce((select p.currency from product p join request_ r on r.product_id = p.id), c.currency)
           end as currency
    from cart c where c.{owner_col} = %(owner)s and c.status = 'active'
),
recurrency as (
    update cart c set currency = cart_.currency from cart_ where c.id = cart_.id and c.currency <> cart_.currency
),
product_ as (
    select s.product_id, s.variant_id, s.currency, s.price, s.max_line,
           s.requires_auth, s.max_per_customer, s.exclusive_group,
           has_variants(s.product_id) as has_variants,
           r.quantity as adding,
           -- the variant's own attributes win: a contradiction is refused, an agreement not stored
           attribute_conflict(r.attributes, s.attributes) as attribute_conflict,
           s.attributes -> attribute_conflict(r.attributes, s.attributes) as catalog_value,
           own_attributes(r.attributes, s.attributes) as attributes
    from request_ r
    cross join lateral sellable(r.product_id, r.variant_id, %(max_line)s::int) s
    where s.active
),
wanted as (
    select cart_.id as cart_id, cart_.currency as cart_currency, product_.*,
           coalesce(l.quantity, 0) as in_cart,
           coalesce(l.selected_attributes, jsonb_build_object()) || product_.attributes as line_attributes,
           (select count(*) from cart_item i where i.cart_id = cart_.id) as lines,
           product_quantity(cart_.id, product_.product_id) as product_in_cart,
           (select i.product_id from cart_item i join product q on q.id = i.product_id
            where i.cart_id = cart_.id and q.exclusive_group = product_.exclusive_group
              and i.product_id <> product_.product_id
            limit 1) as conflicts_with,
           cart_value(cart_.id) as cart_value,
           available_stock(cart_.id, product_.product_id, product_.variant_id) as available
    from cart_ cross join product_
    -- the line this add goes to, if the cart has it already
    left join cart_item l on l.cart_id = cart_.id and l.product_id = product_.product_id
                         and l.variant_id is not distinct from product_.variant_id
),
checked as (
    select *,
           case
               when attribute_conflict is not null then 'attribute'
               when not attributes_fit(line_attributes, %(max_attributes)s::int, %(max_attribute_bytes)s::int)
                   then 'attributes'
               when requires_auth and %(is_guest)s::boolean then 'requires_auth'
               when cart_currency <> currency then 'currency'
               when conflicts_with is not null then 'incompatible'
               when in_cart + adding > max_line then 'line'
               when in_cart = 0 and lines >= %(max_lines)s::int then 'lines'
               when product_in_cart + adding > max_per_customer then 'per_customer'
               when cart_value + price::numeric * adding > %(max_value)s::bigint then 'value'
               when in_cart + adding > available then 'stock'
           end as refused
    from wanted
),
line as (
    insert into cart_item (cart_id, product_id, variant_id, quantity, price_at_add, selected_attributes)
    select cart_id, product_id, variant_id, adding, price, attributes
    from checked
    where (variant_id is not null) = has_variants and refused is null
    on conflict on constraint cart_item_line do update
    set quantity = cart_item.quantity + excluded.quantity,
        price_at_add = excluded.price_at_add,
        selected_attributes = cart_item.selected_attributes || excluded.selected_attributes,
        updated_at = now()
    returning id
),
restored as (
    delete from saved_item s using request_ r where s.id = r.saved_id and exists (select 1 from line)
),
moved_from_list as (
    delete from list_item i using request_ r where i.id = r.list_item_id and exists (select 1 from line)
)
select case
    when %(saved_id)s::uuid is not null and not exists (select 1 from request_) then
        raise_problem('saved_item_not_found', jsonb_build_object('savedId', %(saved_id)s::text))
    when %(list_item_id)s::uuid is not null and not exists (select 1 from request_) then
        raise_problem('list_item_not_found', jsonb_build_object('listItemId', %(list_item_id)s::text))
    when not exists (select 1 from product_) then
        raise_problem('product_not_found', (select jsonb_strip_nulls(jsonb_build_object(
            'productId', product_id, 'variantId', variant_id)) from request_))
    when (select variant_id from request_) is not null and (select variant_id from product_) is null then
        raise_problem('product_not_found', (select jsonb_build_object(
            'productId', product_id, 'variantId', variant_id) from request_))
    when (select variant_id from request_) is null and (select has_variants from product_) then
        raise_problem('variant_required', (select jsonb_build_object('productId', product_id) from request_))
    when exists (select 1 from line) then 0
    else (select case refused
        when 'attribute' then raise_problem('attribute_conflict', jsonb_build_object(
            'attribute', attribute_conflict, 'catalogValue', catalog_value, 'productId', product_id,
            'variantId', variant_id))
        when 'attributes' then refuse_limit('lineAttributes', %(max_attributes)s::int,
            jsonb_build_object('allowedBytes', %(max_attribute_bytes)s::int))
        when 'requires_auth' then raise_problem('restricted', jsonb_build_object(
            'reason', 'requires_auth', 'productId', product_id))
        when 'currency' then raise_problem('currency_mismatch', jsonb_build_object(
            'cartCurrency', cart_currency, 'productCurrency', currency))
        when 'incompatible' then raise_problem('incompatible', jsonb_build_object(
            'productId', product_id, 'conflictsWith', conflicts_with, 'group', exclusive_group))
        when 'line' then refuse_limit('maxQuantityPerLine', max_line, jsonb_build_object('inCart', in_cart))
        when 'lines' then refuse_limit('maxLinesPerCart', %(max_lines)s::int)
        when 'per_customer' then raise_problem('restricted', jsonb_build_object(
            'reason', 'max_per_customer', 'productId', product_id, 'allowed', max_per_customer,
            'inCart', product_in_cart))
        when 'value' then refuse_limit('maxCartValue', %(max_value)s::bigint, jsonb_build_object('cartValue', cart_value))
        else raise_problem('insufficient_stock', jsonb_build_object('maxAvailable', available, 'inCart', in_cart))
    end from checked)
end as outcome
