-- Many line changes judged together and applied in one statement (POST /cart/items/bulk, and
-- POST /cart/reorder's adds). The statement that uses this fragment first names the changes as
-- requested (ord from 1, in request order; op add, set or remove; item_id, or product_id and
-- variant_id; quantity; attributes). Every change is judged by the rules of its single route, in
-- the order a shopper should hear about them, as if the cart had been changed as follows:
--
-- 1. Decreases first: every remove and every set that lowers a line (or keeps it) is made, as the
--    single route would make it: such a change is refused only for what concerns its own line
--    (not found, the product no longer sold, the per-line maximum, stock), never for a limit that
--    lines share.
-- 2. Then the increases, in request order: adds and raising sets, each judged against its own line
--    and against what the cart holds after the decreases and the increases before it that were
--    accepted: its currency, exclusive groups, the lines per cart, max_per_customer across a
--    product's variants, the cart's value. A refused change takes nothing from those limits, so
--    each refusal is reported as it would stand were the other refused changes left out.
--
-- A line may be changed once per request: a later change of a line an earlier change named (by
-- line id, or by product and variant) is refused as duplicate_line. A line id names a line of the
-- caller's cart only; any other is item_not_found.
--
-- atomic: every change is applied, or (any refused) none; otherwise the accepted changes are applied
-- and the refused ones reported. The statement ends with the outcome the caller's own select makes of
-- decided (each change and its refusal), refusals (the problems) and steps (the limits' state).
cart_ as (
    select c.id, c.currency from cart c where c.{owner_col} = %(owner)s and c.status = 'active'
),
-- each change's line, by line id (of this cart only) or by product and variant
keyed as (
    select r.*,
           case when r.item_id is null then r.product_id else n.product_id end as key_product,
           case when r.item_id is null then r.variant_id else n.variant_id end as key_variant
    from requested r
    left join cart_item n on r.item_id is not null and n.id = r.item_id and n.cart_id = (select id from cart_)
),
lined as (
    select k.*, l.id as line_id, coalesce(l.quantity, 0) as in_cart,
           coalesce(l.selected_attributes, jsonb_build_object()) as line_attributes,
           min(k.ord) over (partition by k.key_product, k.key_variant) as first_ord
    from keyed k
    left join cart_item l on l.cart_id = (select id from cart_) and l.product_id = k.key_product
                         and l.variant_id is not distinct from k.key_variant
),
facts as (
    select x.*, s.product_id as sold_product, s.variant_id as sold_variant, s.name, s.currency, s.price, s.max_line,
           s.active, s.requires_auth, s.max_per_customer, s.exclusive_group, s.attributes as catalog_attributes,
           hv.has_variants as variant_missing,
           av.available,
           -- what the line holds once the change is made
           case x.op when 'add' then x.in_cart + x.quantity when 'set' then x.quantity else 0 end as wanted,
           coalesce(x.attributes, jsonb_build_object()) <> jsonb_build_object() as attributed
    from lined x
    left join cart_ c on true  -- (a column, not a sub-select: a table function is inlined only so)
    left join lateral sellable(x.key_product, x.key_variant, %(max_line)s::int) s on true
    -- available_stock and has_variants in the forms a statement can join (migration 0019): no call
    -- per row, and each asked only of the changes it concerns
    left join lateral (
        select a.available from stock_available_to(c.id, x.key_product, x.key_variant) a where x.op <> 'remove'
    ) av on true
    left join lateral (
        select v.has_variants from variants_of(x.key_product) v where x.op = 'add' and x.key_variant is null
    ) hv on true
),
-- what a change's own line says of it: pre (before the shared limits), line and stock (after
-- some of them, as the single routes order them)
judged as (
    select f.*,
           case when f.attributed then own_attributes(f.attributes, f.catalog_attributes) else jsonb_build_object()
           end as own,
           f.wanted - f.in_cart as delta,
           case
               when f.key_product is not null and f.ord > f.first_ord then 'duplicate_line'
               when f.op = 'add' then case
                   when f.sold_product is null or not f.active or (f.key_variant is not null and f.sold_variant is null)
                       then 'product_not_found'
                   when f.variant_missing then 'variant_required'
                   when not f.attributed then case when f.requires_auth and %(is_guest)s::boolean then 'requires_auth' end
                   when attribute_conflict(f.attributes, f.catalog_attributes) is not null then 'attribute'
                   when not attributes_fit(f.line_attributes || own_attributes(f.attributes, f.catalog_attributes),
                                           %(max_attributes)s::int, %(max_attribute_bytes)s::int) then 'attributes'
                   when f.requires_auth and %(is_guest)s::boolean then 'requires_auth'
               end
               when f.line_id is null then 'item_not_found'
               when f.wanted > 0 and not f.active then 'unavailable'
           end as pre,
           case when f.wanted > 0 and f.wanted > f.max_line then 'line' end as line_rule,
           case when f.wanted > 0 and f.wanted > f.available then 'stock' end as stock_rule
    from facts f
),
-- step 1: the decreases that stand
lowered as (
    select line_id, wanted from judged where delta <= 0 and coalesce(pre, line_rule, stock_rule) is null
),
base as (
    select l.product_id, coalesce(w.wanted, l.quantity) as quantity, s.price, s.exclusive_group, s.max_per_customer
    from cart_item l
    left join lowered w on w.line_id = l.id
    left join lateral sellable(l.product_id, l.variant_id) s on true
    where l.cart_id = (select id from cart_)
),
start as (
    select (select count(*) from base where quantity > 0) as lines,
           (select coalesce(sum(quantity * price::numeric), 0) from base) as value,  -- numeric: it may not fit in bigint
           -- per product, only where max_per_customer counts it
           (select coalesce(jsonb_object_agg(product_id, quantity), jsonb_build_object())
            from (select product_id, sum(quantity) as quantity from base where max_per_customer is not null
                  group by product_id) p) as per_product,
           (select coalesce(jsonb_object_agg(exclusive_group, product_id), jsonb_build_object())
            from base where quantity > 0 and exclusive_group is not null) as groups,
           -- a cart left with no line takes the currency of the first product added to it
           case when exists (select 1 from base where quantity > 0) then (select currency::text from cart_) end as currency
),
-- step 2: the increases their own lines allow, numbered in request order (only what the limits
-- read: the recursion below scans this once per step)
rising as materialized (
    select row_number() over (order by ord) as n, ord, op, key_product, delta, in_cart, price, currency::text,
           exclusive_group, max_per_customer, line_rule, stock_rule
    from judged
    where pre is null and delta > 0
),
-- each in turn, against the limits' state so far: what the cart holds after the decreases and the
-- increases accepted before it (no limit is null: a comparison with null refuses nothing)
steps as (
    select 0::bigint as n, null::bigint as ord, lines, value, per_product, groups, currency,
           null::text as refused, null::bigint as in_product, null::numeric as value_before, null::text as cart_currency,
           null::text as conflicts_with
    from start
    union all
    select j.n, j.ord,
           s.lines + case when q.refused is null and j.in_cart = 0 then 1 else 0 end,
           s.value + case when q.refused is null then j.price::numeric * j.delta else 0 end,
           case when q.refused is null and j.max_per_customer is not null
                then jsonb_set(s.per_product, array[j.key_product::text], to_jsonb(p.in_product + j.delta))
                else s.per_product end,
           case when q.refused is null and j.exclusive_group is not null
                then s.groups || jsonb_build_object(j.exclusive_group, j.key_product) else s.groups end,
           case when q.refused is null then coalesce(s.currency, j.currency) else s.currency end,
           q.refused, p.in_product, s.value, s.currency, s.groups ->> j.exclusive_group
    from steps s
    join rising j on j.n = s.n + 1
    cross join lateral (
        select coalesce((s.per_product ->> j.key_product::text)::bigint, 0) as in_product
    ) p
    cross join lateral (
        select case
            when j.op = 'add' and s.currency is not null and j.currency <> s.currency then 'currency'
            when s.groups ->> j.exclusive_group <> j.key_product::text then 'incompatible'
            when j.line_rule is not null then j.line_rule
            when j.in_cart = 0 and s.lines >= %(max_lines)s::int then 'lines'
            when p.in_product + j.delta > j.max_per_customer then 'per_customer'
            when s.value + j.price::numeric * j.delta > %(max_value)s::bigint then 'value'
            else j.stock_rule
        end as refused
    ) q
),
-- every change and its refusal: its own line's (step 1's), or the limits' (step 2's)
decided as (
    select j.*, case when j.pre is not null then j.pre
                     when j.delta <= 0 then coalesce(j.line_rule, j.stock_rule)
                     else s.refused end as refused,
           s.in_product, s.value_before, s.cart_currency, s.conflicts_with
    from judged j left join steps s on s.ord = j.ord
),
-- each refusal as the problem its single route answers (code and extension members), with the
-- change's index (from 0, as in the request) and what it named
described as (
    select d.ord,
           jsonb_strip_nulls(jsonb_build_object(
               'index', d.ord - 1, 'op', d.op, 'itemId', coalesce(d.item_id, d.line_id),
               'productId', d.key_product, 'variantId', d.key_variant, 'name', d.name, 'quantity', d.quantity))
           || case d.refused
               when 'duplicate_line' then jsonb_build_object('code', 'duplicate_line', 'firstIndex', d.first_ord - 1)
               when 'product_not_found' then jsonb_build_object('code', 'product_not_found')
               when 'variant_required' then jsonb_build_object('code', 'variant_required')
               when 'item_not_found' then jsonb_build_object('code', 'item_not_found')
               when 'attribute' then jsonb_build_object(
                   'code', 'attribute_conflict', 'attribute', attribute_conflict(d.attributes, d.catalog_attributes),
                   'catalogValue', d.catalog_attributes -> attribute_conflict(d.attributes, d.catalog_attributes))
               when 'attributes' then jsonb_build_object(
                   'code', 'limit_exceeded', 'limit', 'lineAttributes', 'allowed', %(max_attributes)s::int,
                   'allowedBytes', %(max_attribute_bytes)s::int)
               when 'requires_auth' then jsonb_build_object('code', 'restricted', 'reason', 'requires_auth')
               when 'unavailable' then jsonb_build_object('code', 'product_unavailable')
               when 'currency' then jsonb_build_object(
                   'code', 'currency_mismatch', 'cartCurrency', d.cart_currency, 'productCurrency', d.currency)
               when 'incompatible' then jsonb_build_object(
                   'code', 'incompatible', 'conflictsWith', d.conflicts_with, 'group', d.exclusive_group)
               when 'line' then jsonb_build_object(
                   'code', 'limit_exceeded', 'limit', 'maxQuantityPerLine', 'allowed', d.max_line, 'inCart', d.in_cart)
               when 'lines' then jsonb_build_object(
                   'code', 'limit_exceeded', 'limit', 'maxLinesPerCart', 'allowed', %(max_lines)s::int)
               when 'per_customer' then jsonb_build_object(
                   'code', 'restricted', 'reason', 'max_per_customer', 'allowed', d.max_per_customer,
                   'inCart', d.in_product)
               when 'value' then jsonb_build_object(
                   'code', 'limit_exceeded', 'limit', 'maxCartValue', 'allowed', %(max_value)s::bigint,
                   'cartValue', d.value_before)
               else jsonb_build_object('code', 'insufficient_stock', 'maxAvailable', d.available, 'inCart', d.in_cart)
           end as problem
    from decided d
    where d.refused is not null
),
-- (each counted for the merchant's analytics as its single change's refusal would be: migration 0019)
refusals as (
    select count(*) as count, coalesce(jsonb_agg(problem order by ord), jsonb_build_array()) as errors,
           sum(count_refusal(problem ->> 'code')) as counted
    from described
),
go as (
    select not %(atomic)s::boolean or not exists (select 1 from decided where refused is not null) as go
),
dropped as (
    delete from cart_item i using decided d, go
    where go.go and d.refused is null and d.line_id = i.id and d.wanted = 0
    returning i.product_id, i.variant_id, i.quantity
),
-- a line removed is one the merchant's analytics counts (migration 0018), as the single removal does
removal_counted as (
    insert into cart_line_removal (product_id, variant_id, quantity)
    select product_id, variant_id, quantity from dropped
),
changed as (
    update cart_item i set quantity = d.wanted, updated_at = now()
    from decided d, go
    where go.go and d.refused is null and d.op = 'set' and d.line_id = i.id and d.wanted > 0
),
-- a new line is inserted, more of a line the cart has is an update: the cart's row lock keeps any
-- other writer from adding the same line meanwhile, so no insert needs to speculate on a conflict
added as (
    insert into cart_item (cart_id, product_id, variant_id, quantity, price_at_add, selected_attributes)
    select (select id from cart_), d.key_product, d.key_variant, d.quantity, d.price, d.own
    from decided d, go
    where go.go and d.refused is null and d.op = 'add' and d.line_id is null
),
grown as (
    update cart_item i
    set quantity = i.quantity + d.quantity, price_at_add = d.price,
        selected_attributes = i.selected_attributes || d.own, updated_at = now()
    from decided d, go
    where go.go and d.refused is null and d.op = 'add' and d.line_id = i.id
),
recurrency as (
    update cart c set currency = f.currency
    from (select currency from steps order by n desc limit 1) f, go
    where go.go and c.id = (select id from cart_) and f.currency is not null and c.currency <> f.currency
)
