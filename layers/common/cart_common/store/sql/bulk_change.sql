-- Step 2 of POST /cart/items/bulk: the changes as sent (a JSON array, in order), judged and applied
-- all or none by _bulk_apply.sql; any refused, the whole change stops with 409 bulk_rejected, every
-- refused change listed with its index and the problem its single route would answer.
with recursive requested as (
    select x.ord, x.op, x.item_id, x.product_id, x.variant_id, x.quantity, x.attributes
    from rows from (jsonb_to_recordset(%(changes)s::jsonb) as (
             op text, item_id uuid, product_id uuid, variant_id uuid, quantity int, attributes jsonb))
         with ordinality as x(op, item_id, product_id, variant_id, quantity, attributes, ord)
),
{bulk_apply}
select case
    when (select count from refusals) > 0 then raise_problem('bulk_rejected', (select jsonb_build_object(
        'count', count, 'errors', errors) from refusals))
    else 0
end as outcome
