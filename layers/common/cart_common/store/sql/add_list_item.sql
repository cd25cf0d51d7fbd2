-- Step 2 of POST /lists/:listId/items (step 1, touch_list, checked the list is the owner's): a product
-- saved to the list by the rules of an add about what it is (an active product, its variant, the
-- shopper's attributes beside the variant's), not about buying it now: stock, limits and purchase
-- rules apply when it goes to the cart. Folded into the item of the same product+variant (its price
-- and stock as of now). At most max_items items; an item holds at most max_line.
with product_ as (
    select s.product_id, s.variant_id, s.price, has_variants(s.product_id) as has_variants,
           attribute_conflict(%(attributes)s::jsonb, s.attributes) as attribute_conflict,
           s.attributes -> attribute_conflict(%(attributes)s::jsonb, s.attributes) as catalog_value,
           own_attributes(%(attributes)s::jsonb, s.attributes) as attributes,
           available_stock((select c.id from cart c where c.{owner_col} = %(owner)s and c.status = 'active'),
                           s.product_id, s.variant_id) as stock
    from sellable(%(product_id)s::uuid, %(variant_id)s::uuid) s
    where s.active
),
checked as (
    select p.*,
           case
               when p.attribute_conflict is not null then 'attribute'
               when not attributes_fit(coalesce(i.selected_attributes, jsonb_build_object()) || p.attributes,
                                       %(max_attributes)s::int, %(max_attribute_bytes)s::int) then 'attributes'
               when coalesce(i.quantity, 0) + %(quantity)s::int > %(max_line)s::int then 'quantity'
               when i.id is null and (select count(*) from list_item n where n.list_id = %(list_id)s::uuid)
                    >= %(max_items)s::int then 'items'
           end as refused
    from product_ p
    left join list_item i on i.list_id = %(list_id)s::uuid and i.product_id = p.product_id
                         and i.variant_id is not distinct from p.variant_id
),
saved as (
    insert into list_item (list_id, product_id, variant_id, quantity, price_at_save, stock_at_save,
                           selected_attributes)
    select %(list_id)s::uuid, product_id, variant_id, %(quantity)s::int, price, stock, attributes
    from checked
    where refused is null and (variant_id is not null) = has_variants
    on conflict on constraint list_item_line do update
    set quantity = list_item.quantity + excluded.quantity,
        price_at_save = excluded.price_at_save,
        stock_at_save = excluded.stock_at_save,
        selected_attributes = list_item.selected_attributes || excluded.selected_attributes,
        saved_at = now()
    returning id
)
select case
    when not exists (select 1 from product_) then
        raise_problem('product_not_found', jsonb_strip_nulls(jsonb_build_object(
            'productId', %(product_id)s::text, 'variantId', %(variant_id)s::text)))
    when %(variant_id)s::uuid is not null and (select variant_id from product_) is null then
        raise_problem('product_not_found', jsonb_build_object(
            'productId', %(product_id)s::text, 'variantId', %(variant_id)s::text))
    when %(variant_id)s::uuid is null and (select has_variants from product_) then
        raise_problem('variant_required', jsonb_build_object('productId', %(product_id)s::text))
    when exists (select 1 from saved) then 0
    else (select case refused
        when 'attribute' then raise_problem('attribute_conflict', jsonb_build_object(
            'attribute', attribute_conflict, 'catalogValue', catalog_value, 'productId', product_id,
            'variantId', variant_id))
        when 'attributes' then refuse_limit('lineAttributes', %(max_attributes)s::int,
            jsonb_build_object('allowedBytes', %(max_attribute_bytes)s::int))
        when 'quantity' then raise_problem('list_limit_exceeded', jsonb_build_object(
            'limit', 'maxQuantityPerItem', 'allowed', %(max_line)s::int))
        else raise_problem('list_limit_exceeded', jsonb_build_object(
            'limit', 'maxListItems', 'allowed', %(max_items)s::int))
    end from checked)
end as outcome
