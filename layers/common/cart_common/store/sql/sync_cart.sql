-- Step 2 of a client sync (step 1 is ensure_cart: a guest syncing before any add gets a cart).
-- Every product+variant either side holds becomes one row: the server's lines first, in cart order,
-- then the client's new ones, in the order sent. The strategy gives the quantity wanted; a line
-- keeps at least min(server, wanted) (a sync lowers or removes a line only when the strategy says
-- so, never because of a cap), and only what it would gain above that is capped, by the rules of an
-- add: the line's own (unknown or inactive product, restricted, currency, stock, per-line maximum),
-- and the limits lines share (an exclusive group, the product's max_per_customer across its
-- variants, the cart's line and value limits), which the rows take from in turn.
-- Returns every row where the client and the server disagreed, or where the result is not what the
-- client held, with the quantity it got and the first cap that bound it.
with recursive cart_ as (
    select c.id, c.currency from cart c where c.{owner_col} = %(owner)s and c.status = 'active'
),
-- the client's lines, or a list's or a share link's (issue 23: a restore, a copy), with their attributes
client as (
    {sync_items}
),
keys as (
    select i.id as item_id, i.product_id, i.variant_id, i.quantity as server_qty,
           coalesce(k.quantity, 0) as client_qty, false as new_line,
           row_number() over (order by i.created_at, i.id) as ord, k.attributes
    from cart_
    join cart_item i on i.cart_id = cart_.id
    left join client k on k.product_id = i.product_id and k.variant_id is not distinct from i.variant_id
    union all
    select null, k.product_id, k.variant_id, 0, k.quantity, true, k.ord, k.attributes
    from client k
    where not exists (select 1 from cart_ join cart_item i on i.cart_id = cart_.id
                      where i.product_id = k.product_id and i.variant_id is not distinct from k.variant_id)
),
lines as (
    select keys.*, s.currency, s.exclusive_group, s.max_per_customer, s.price,
           greatest(0, least(a.stock, s.max_line)) as line_cap, a.stock, s.max_line,
           case %(strategy)s
               when 'sum' then server_qty + client_qty
               when 'max' then greatest(server_qty, client_qty)
               else client_qty
           end as wanted,
           case
               when s.product_id is null or (keys.variant_id is not null and s.variant_id is null) then 'product_not_found'
               when keys.variant_id is null and has_variants(keys.product_id) then 'variant_required'
               when not s.active then 'unavailable'
               when s.requires_auth and %(is_guest)s::boolean then 'requires_auth'
           end as refused
    from keys
    left join lateral sellable(keys.product_id, keys.variant_id, %(max_line)s::int) s on true
    -- stock here is what the cart can have (migration 0013's available_stock)
    left join lateral (select available_stock((select id from cart_), keys.product_id, keys.variant_id) as stock) a on true
),
based as (
    select lines.*, least(server_qty, wanted) as base from lines
),
-- a cart left with no line takes the currency of the first line it can be given (as an add does)
currency_ as (
    select coalesce(
        (select currency from cart_ where exists (select 1 from based where base > 0)),
        (select currency from based where refused is null and wanted > 0 order by new_line, ord limit 1),
        (select currency from cart_)
    ) as currency
),
checked as (
    select b.*, row_number() over (order by b.new_line, b.ord) as n,
           coalesce(b.refused, case when b.currency <> currency_.currency then 'currency_mismatch' end) as refusal
    from based b, currency_
),
-- what every line keeps is spoken for before any line gains: per product, exclusive groups, lines, value
kept as (
    select coalesce((select jsonb_object_agg(product_id, quantity)
                     from (select product_id, sum(base) as quantity from checked group by product_id) p),
                    jsonb_build_object()) as per_product,
           coalesce(jsonb_object_agg(exclusive_group, product_id)
                        filter (where base > 0 and exclusive_group is not null), jsonb_build_object()) as groups,
           count(*) filter (where base > 0) as lines,
           coalesce(sum(base * price::numeric), 0) as value  -- numeric: it may not fit in bigint
    from checked
),
-- then each row in turn gains what its own caps allow and what is left of each shared limit (no
-- limit is null: least() ignores it)
filled as (
    select 0::bigint as n, per_product, groups, lines, value, 0::bigint as gain, null::text as reason from kept
    union all
    select c.n,
           case when g.gain > 0
                then jsonb_set(f.per_product, array[c.product_id::text],
                               to_jsonb(coalesce((f.per_product ->> c.product_id::text)::bigint, 0) + g.gain))
                else f.per_product end,
           case when g.gain > 0 and c.exclusive_group is not null
                then f.groups || jsonb_build_object(c.exclusive_group, c.product_id) else f.groups end,
           f.lines + case when g.gain > 0 and c.base = 0 then 1 else 0 end,
           f.value + g.gain * c.price::numeric,
           g.gain, g.reason
    from filled f
    join checked c on c.n = f.n + 1
    cross join lateral (
        select coalesce(c.refusal, case when f.groups ->> c.exclusive_group <> c.product_id::text
                                        then 'incompatible' end) as blocked
    ) b
    cross join lateral (
        select case when b.blocked is null then greatest(0, least(c.wanted, c.line_cap) - c.base) else 0 end as line,
               c.max_per_customer - coalesce((f.per_product ->> c.product_id::text)::bigint, 0) as per_product,
               case when c.base = 0 and f.lines >= %(max_lines)s::int then 0 end as lines,
               case when c.price > 0 then floor((%(max_value)s::bigint - f.value) / c.price) end as value
    ) cap
    cross join lateral (
        select greatest(0, least(cap.line, cap.per_product, cap.lines, cap.value))::bigint as gain
    ) x
    cross join lateral (
        select x.gain, case
            when c.base + x.gain >= c.wanted then null
            when b.blocked is not null then b.blocked
            when c.base + cap.line < c.wanted then
                case when c.wanted > c.max_line and c.max_line <= c.stock then 'max_quantity_per_line'
                     when c.stock <= 0 then 'out_of_stock'
                     else 'insufficient_stock' end
            when cap.per_product <= x.gain then 'max_per_customer'
            when cap.lines <= x.gain then 'max_lines_per_cart'
            else 'max_cart_value'
        end as reason
    ) g
),
resolved as (
    select c.*, c.base + f.gain as resolved, f.reason from checked c join filled f on f.n = c.n
),
removed as (
    delete from cart_item i using resolved r where i.id = r.item_id and r.resolved = 0
    returning i.product_id, i.variant_id, i.quantity
),
-- lines the client's copy no longer holds, as the merchant's removals (migration 0018)
counted as (
    insert into cart_line_removal (product_id, variant_id, quantity)
    select product_id, variant_id, quantity from removed
),
changed as (
    update cart_item i
    set quantity = r.resolved, updated_at = now(),
        selected_attributes = joined_attributes(i.selected_attributes, coalesce(r.attributes, jsonb_build_object()),
                                                %(max_attributes)s::int, %(max_attribute_bytes)s::int)
    from resolved r
    where i.id = r.item_id and r.resolved > 0 and r.resolved <> r.server_qty
),
added as (
    -- new lines keep the order they came in (the cart shows lines by created_at)
    insert into cart_item (cart_id, product_id, variant_id, quantity, price_at_add, selected_attributes, created_at)
    select cart_.id, r.product_id, r.variant_id, r.resolved, r.price,
           joined_attributes(jsonb_build_object(), coalesce(r.attributes, jsonb_build_object()),
                             %(max_attributes)s::int, %(max_attribute_bytes)s::int),
           now() + r.n * interval '1 microsecond'
    from resolved r, cart_
    where r.item_id is null and r.resolved > 0
),
recurrency as (
    update cart c set currency = currency_.currency
    from cart_, currency_
    where c.id = cart_.id and c.currency <> currency_.currency
)
select coalesce(jsonb_agg(jsonb_build_object(
           'productId', product_id, 'variantId', variant_id, 'clientQuantity', client_qty,
           'serverQuantity', server_qty, 'resolved', resolved, 'reason', reason
       ) order by new_line, ord) filter (where client_qty <> server_qty or resolved <> client_qty), '[]'::jsonb)
       as conflicts
from resolved
