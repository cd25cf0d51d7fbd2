-- Step 2 of POST /cart/reorder ("buy again"): the lines of one of the caller's completed orders (the
-- cart its checkout converted, found by the order id the order service completed it with) added
-- back, each by the rules of an add (_bulk_apply.sql), what fits is added and the rest reported
-- line by line. Another owner's order, or one whose cart is gone, is 404 order_not_found; an order
-- none of whose lines can be added now is 409 bulk_rejected, and nothing changes.
with recursive order_ as (
    select k.cart_id
    from checkout k join cart c on c.id = k.cart_id
    where k.order_id = %(order_id)s::text and k.status = 'completed'
      and c.{owner_col} = %(owner)s and c.status = 'converted'
    order by k.completed_at desc
    limit 1
),
requested as (
    select row_number() over (order by i.created_at, i.id) as ord, 'add'::text as op, null::uuid as item_id,
           i.product_id, i.variant_id, i.quantity, i.selected_attributes as attributes
    from order_ join cart_item i on i.cart_id = order_.cart_id
),
{bulk_apply}
select case
           when not exists (select 1 from order_) then
               raise_problem('order_not_found', jsonb_build_object('orderId', %(order_id)s::text))
           when (select count from refusals) = (select count(*) from requested) then
               raise_problem('bulk_rejected', (select jsonb_build_object('count', count, 'errors', errors,
                   'detail', 'None of the order''s lines can be added to the cart now') from refusals))
           else 0
       end as outcome,
       (select coalesce(jsonb_agg(jsonb_build_object(
                   'productId', key_product, 'variantId', key_variant, 'quantity', quantity) order by ord),
                        jsonb_build_array())
        from decided where refused is null) as added,
       (select errors from refusals) as skipped
