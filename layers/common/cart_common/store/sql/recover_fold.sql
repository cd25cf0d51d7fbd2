-- Recovery step 2: the caller's other active carts (a guest's own cart; a user's cart and the guest
-- session's cart they still carry) are folded into the recovered cart as a sign-in merge would fold
-- them ('sum': quantities added, capped at available stock (available_stock) and the line maximum, new lines only while the
-- cart's line limit allows, other currencies and products no longer sold left out; saved items come
-- along, keeping the larger quantity), their open checkouts released, and they are marked merged into
-- it. The recovered cart keeps its id, its abandonment snapshot and so its recovery: what the shopper
-- clicked for is the cart that goes on. Does nothing on a replay (the mark is gone).
with target as (
    select id, currency from cart
    where id = %(cart_id)s and status = 'active' and abandoned_at = %(abandoned_at)s::timestamptz
),
others as (
    select c.id, c.currency = t.currency as same_currency
    from cart c, target t
    where c.status = 'active' and c.id <> t.id
      and (c.session_id = %(session)s::text or c.user_id = %(user)s::text)
),
incoming as (
    select i.product_id, i.variant_id, sum(i.quantity)::int as quantity, min(i.price_at_add) as price_at_add,
           min(i.created_at) as added_at,
           (array_agg(i.selected_attributes order by i.created_at))[1] as selected_attributes
    from others o join cart_item i on i.cart_id = o.id
    where o.same_currency
    group by i.product_id, i.variant_id
),
decided as (
    select n.*, ti.id as target_item_id, coalesce(ti.quantity, 0) as target_quantity,
           case when not s.active then 0
                else greatest(coalesce(ti.quantity, 0),
                              least(coalesce(ti.quantity, 0) + n.quantity,
                                    available_stock(t.id, n.product_id, n.variant_id), s.max_line))
           end as final
    from incoming n
    cross join target t
    cross join lateral sellable(n.product_id, n.variant_id, %(max_line)s::int) s
    left join cart_item ti on ti.cart_id = t.id and ti.product_id = n.product_id
                          and ti.variant_id is not distinct from n.variant_id
),
ranked as (
    select d.*,
           case when target_item_id is null and final > 0
                then row_number() over (partition by target_item_id is null and final > 0
                                        order by added_at, product_id, variant_id) end as new_n,
           (select count(*) from target t join cart_item ti on ti.cart_id = t.id) as target_lines
    from decided d
),
written as (
    insert into cart_item (cart_id, product_id, variant_id, quantity, price_at_add, selected_attributes)
    select t.id, r.product_id, r.variant_id, r.final, r.price_at_add, r.selected_attributes
    from ranked r, target t
    where r.final > 0
      and (r.new_n is null or %(max_lines)s::int is null or r.target_lines + r.new_n <= %(max_lines)s::int)
    on conflict on constraint cart_item_line do update
    set quantity = excluded.quantity, updated_at = now()
    returning id
),
saved_moved as (
    insert into saved_item (cart_id, product_id, variant_id, quantity, price_at_save, stock_at_save,
                            selected_attributes, saved_at)
    select s.target_id, s.product_id, s.variant_id, s.quantity, s.price_at_save, s.stock_at_save,
           s.selected_attributes, s.saved_at
    from (
        -- a saved item new to the recovered cart takes what is left of the saved list's limit
        select s.*, row_number() over (partition by s.has order by s.saved_at desc, s.id) as n,
               (select count(*) from saved_item ts where ts.cart_id = s.target_id) as target_saved
        from (
            select distinct on (s.product_id, s.variant_id) t.id as target_id, s.*, h.has
            from others o join saved_item s on s.cart_id = o.id cross join target t
            cross join lateral (select exists (select 1 from saved_item ts where ts.cart_id = t.id
                and ts.product_id = s.product_id and ts.variant_id is not distinct from s.variant_id) as has) h
            order by s.product_id, s.variant_id, s.quantity desc
        ) s
    ) s
    where s.has or %(max_lines)s::int is null or s.target_saved + s.n <= %(max_lines)s::int
    on conflict on constraint saved_item_line do update
    set quantity = greatest(saved_item.quantity, excluded.quantity)
),
released as (
    update checkout k set status = 'released'
    from others o
    where k.cart_id = o.id and k.status = 'open'
    returning k.id
),
released_lines as (
    delete from reservation r using released where r.checkout_id = released.id
),
marked as (
    update cart c set status = 'merged', merged_into = t.id, merged_at = now(), updated_at = now()
    from others o, target t
    where c.id = o.id
    returning c.id
)
select (select count(*) from marked) as carts_folded, (select count(*) from written) as lines_written
