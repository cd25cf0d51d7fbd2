-- Step 2 of a sign-in merge (step 1 locks both carts). No user cart: the guest cart is adopted
-- (re-keyed to the user). Otherwise each guest line is folded into the user's cart by the strategy,
-- capped at available stock (available_stock), the line maximum and the cart's line limit, and the guest cart is marked merged
-- (into which cart, when), so a replay finds nothing to do. Returns one row: the outcome and every
-- guest line with what became of it.
with guest as (
    select id, currency from cart where session_id = %(guest)s and status = 'active'
),
usr as (
    select id, currency from cart where user_id = %(user)s and status = 'active'
),
adopted as (
    update cart c
    set user_id = %(user)s, session_id = null, adopted_from_session = %(guest)s, version = c.version + 1,
        expires_at = greatest(c.expires_at, now() + %(user_ttl)s::float8 * interval '1 day'),
        last_activity_at = now(), updated_at = now(), abandoned_at = null
    from guest
    where c.id = guest.id and not exists (select 1 from usr)
    returning c.id
),
guest_lines as (
    select gi.product_id, gi.variant_id, gi.quantity, gi.price_at_add, gi.selected_attributes,
           gi.created_at as guest_added_at, ui.id as user_item_id, coalesce(ui.quantity, 0) as user_quantity,
           s.active,
           available_stock(u.id, gi.product_id, gi.variant_id) as stock, s.max_line,
           g.currency = u.currency as same_currency
    from guest g
    join usr u on true
    join cart_item gi on gi.cart_id = g.id
    cross join lateral sellable(gi.product_id, gi.variant_id, %(max_line)s::int) s
    left join cart_item ui on ui.cart_id = u.id and ui.product_id = gi.product_id
                          and ui.variant_id is not distinct from gi.variant_id
),
planned as (
    select *,
           case %(strategy)s
               when 'sum' then user_quantity + quantity
               when 'max' then greatest(user_quantity, quantity)
               else quantity
           end as wanted
    from guest_lines
),
uncapped as (
    select *,
           case
               when not same_currency or not active then 0
               -- a merge never lowers a line the user already had (unless the guest cart replaces it)
               when %(strategy)s <> 'replace' and user_item_id is not null
                   then greatest(user_quantity, least(wanted, stock, max_line))
               else greatest(0, least(wanted, stock, max_line))
           end as final,
           case
               when not same_currency then 'currency_mismatch'
               when not active then 'unavailable'
               when least(stock, max_line) <= 0 then 'out_of_stock'
               when wanted > max_line and max_line <= stock then 'limit_exceeded'
               when wanted > stock then 'insufficient_stock'
           end as reason
    from planned
),
-- lines new to the user's cart take what is left of its line limit, in the guest cart's order
ranked as (
    select *,
           case when user_item_id is null and final > 0
                then row_number() over (partition by user_item_id is null and final > 0
                                        order by guest_added_at, product_id, variant_id) end as new_n,
           (select count(*) from usr u join cart_item ui on ui.cart_id = u.id) as user_lines
    from uncapped
),
decided as (
    select product_id, variant_id, quantity, price_at_add, selected_attributes, user_item_id, user_quantity, wanted,
           case when over_lines then 0 else final end as final,
           case when over_lines then 'max_lines_per_cart' else reason end as reason
    from (select *, new_n is not null and %(strategy)s <> 'replace' and %(max_lines)s::int is not null
                    and user_lines + new_n > %(max_lines)s::int as over_lines
          from ranked) r
),
-- replace: the guest cart takes the user's cart's place only if at least one of its lines can be
-- carried over; a guest cart whose every line is skipped leaves the user's cart as it was
replacing as (
    select %(strategy)s = 'replace' and exists (select 1 from decided where final > 0) as yes
),
removed as (
    delete from cart_item ui using usr, replacing
    where replacing.yes and ui.cart_id = usr.id
      and not exists (select 1 from decided d where d.user_item_id = ui.id and d.final > 0)
    returning ui.product_id, ui.variant_id, ui.quantity
),
written as (
    insert into cart_item (cart_id, product_id, variant_id, quantity, price_at_add, selected_attributes)
    select u.id, d.product_id, d.variant_id, d.final, d.price_at_add, d.selected_attributes
    from decided d, usr u
    where d.final > 0
    on conflict on constraint cart_item_line do update
    set quantity = excluded.quantity,
        selected_attributes = joined_attributes(cart_item.selected_attributes, excluded.selected_attributes,
                                                %(max_attributes)s::int, %(max_attribute_bytes)s::int),
        updated_at = now()
    returning id
),
-- saved-for-later items come along too; one both carts saved keeps the larger quantity
saved_moved as (
    insert into saved_item (cart_id, product_id, variant_id, quantity, price_at_save, stock_at_save,
                            selected_attributes, saved_at)
    select s.user_cart_id, s.product_id, s.variant_id, s.quantity, s.price_at_save, s.stock_at_save,
           s.selected_attributes, s.saved_at
    from (
        -- a saved item new to the user takes what is left of the saved list's limit (max_lines)
        select u.id as user_cart_id, s.*, h.user_has,
               row_number() over (partition by h.user_has order by s.saved_at desc, s.id) as n,
               (select count(*) from saved_item us where us.cart_id = u.id) as user_saved
        from guest g join usr u on true join saved_item s on s.cart_id = g.id
        cross join lateral (select exists (select 1 from saved_item us where us.cart_id = u.id
            and us.product_id = s.product_id and us.variant_id is not distinct from s.variant_id) as user_has) h
    ) s
    where s.user_has or %(max_lines)s::int is null or s.user_saved + s.n <= %(max_lines)s::int
    on conflict on constraint saved_item_line do update
    set quantity = greatest(saved_item.quantity, excluded.quantity)
),
marked as (
    update cart c set status = 'merged', merged_into = u.id, merged_at = now(), updated_at = now()
    from guest g, usr u
    where c.id = g.id
    returning c.id
),
bumped as (
    update cart c
    set version = c.version + 1, last_activity_at = now(), updated_at = now(), abandoned_at = null,
        expires_at = greatest(c.expires_at, now() + %(user_ttl)s::float8 * interval '1 day')
    from usr u
    where c.id = u.id and exists (select 1 from guest)
    returning c.id
)
select
    case
        when exists (select 1 from adopted) then 'adopted'
        when exists (select 1 from marked) then 'merged'
        when exists (select 1 from cart where session_id = %(guest)s and status = 'merged')
          or exists (select 1 from cart where adopted_from_session = %(guest)s) then 'already_merged'
        else 'nothing_to_merge'
    end as outcome,
    case
        when exists (select 1 from adopted) then (
            select coalesce(jsonb_agg(jsonb_build_object(
                'productId', gi.product_id, 'variantId', gi.variant_id, 'guestQuantity', gi.quantity,
                'userQuantity', 0, 'quantity', gi.quantity, 'carried', true, 'userHadLine', false,
                'reason', null)), '[]'::jsonb)
            from guest g join cart_item gi on gi.cart_id = g.id)
        else (
            -- quantity: what the user's cart holds now (a skipped line the user had is kept, unless
            -- a replace removed it)
            select coalesce(jsonb_agg(jsonb_build_object(
                'productId', product_id, 'variantId', variant_id, 'guestQuantity', quantity,
                'userQuantity', user_quantity,
                'quantity', case
                    when final > 0 then final
                    when user_item_id is not null and not replacing.yes then user_quantity
                    else 0
                end,
                'carried', final > 0, 'wanted', wanted,
                'userHadLine', user_item_id is not null, 'reason', reason)), '[]'::jsonb)
            from decided, replacing)
    end as lines,
    (select coalesce(jsonb_agg(jsonb_build_object(
        'productId', product_id, 'variantId', variant_id, 'quantity', quantity)), '[]'::jsonb)
     from removed) as removed,
    (select count(*) from written) as written
