-- POST /cart/prices/accept, after touch_cart (the cart row locked, If-Match checked, version bumped,
-- its open checkout released): each line whose price changed takes the price it sells at now as the
-- price it was added at, so it is no longer a price_changed issue; with %(items)s only the listed
-- lines. Nothing is written when a rule fails: no cart (cart_not_found), a listed line not in the
-- caller's cart (item_not_found, as any line that is not yours), or a listed line whose shown price
-- (unit_price) is no longer its price (price_changed: the shopper accepts only what they were shown).
with listed as (
    select x.item_id, x.unit_price
    from jsonb_to_recordset(coalesce(%(items)s::jsonb, '[]'::jsonb)) as x(item_id uuid, unit_price bigint)
),
lines as (
    select i.id, i.price_at_add, s.price
    from cart c
    join cart_item i on i.cart_id = c.id
    cross join lateral sellable(i.product_id, i.variant_id) s
    where c.{owner_col} = %(owner)s and c.status = 'active'
      and (%(items)s::jsonb is null or i.id in (select item_id from listed))
),
moved as (
    select jsonb_agg(jsonb_build_object('itemId', l.id, 'shownPrice', w.unit_price, 'unitPrice', l.price)
                     order by l.id) as lines
    from listed w join lines l on l.id = w.item_id
    where w.unit_price is not null and w.unit_price <> l.price
),
checked as (
    select case
        when not {cart_exists} then raise_problem('cart_not_found', jsonb_build_object('detail', 'You have no cart'))
        when exists (select 1 from listed w where w.item_id not in (select id from lines)) then raise_problem(
            'item_not_found',
            jsonb_build_object('itemId', (select min(w.item_id::text) from listed w
                                          where w.item_id not in (select id from lines))))
        when (select lines from moved) is not null then raise_problem(
            'price_changed',
            jsonb_build_object('count', jsonb_array_length((select lines from moved)), 'lines', (select lines from moved)))
        else 0
    end as outcome
),
repriced as (
    update cart_item i set price_at_add = l.price, updated_at = now()
    from lines l, checked
    where i.id = l.id and l.price_at_add <> l.price and checked.outcome = 0
    returning i.id
)
select (select outcome from checked) as outcome, (select count(*) from repriced) as repriced
