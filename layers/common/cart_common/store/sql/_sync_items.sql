-- The lines a sync (sync_cart.sql) folds into the cart: the client's own copy (``items``), a list's
-- items as a restore adds them, with the shopper's attributes (``list_id``: the caller's, checked before
-- it by touch_list), or a share link's lines (``share_id``: checked before it by check_share.sql; the
-- owner's own attributes are not copied). One of the three is given.
select x.product_id, x.variant_id, x.quantity, x.attributes, x.ord
from rows from (jsonb_to_recordset(%(items)s::jsonb)
                as (product_id uuid, variant_id uuid, quantity int, attributes jsonb))
     with ordinality as x(product_id, variant_id, quantity, attributes, ord)
union all
select i.product_id, i.variant_id, i.quantity,
       case when %(list_id)s::uuid is not null then i.selected_attributes end,
       row_number() over (order by i.saved_at, i.id)
from list_item i
where i.list_id = coalesce(%(list_id)s::uuid,
                           (select s.list_id from share_link s where s.id = %(share_id)s::uuid))
union all
select x.product_id, x.variant_id, x.quantity, null::jsonb, x.ord
from share_link s
cross join rows from (jsonb_to_recordset(s.lines) as (product_id uuid, variant_id uuid, quantity int))
     with ordinality as x(product_id, variant_id, quantity, ord)
where s.id = %(share_id)s::uuid
