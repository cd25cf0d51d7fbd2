-- One list as every list answer shows it: one row per item (one row with no item for an empty list;
-- none when the owner has no such list), each at today's price and available stock (migration 0013's
-- one definition, as the owner's cart would have it) beside what it had when saved. ``list_id`` null:
-- the owner's default list.
select l.id as list_id, l.name as list_name, l.is_default, l.version, l.created_at, l.updated_at,
       i.id as item_id, i.product_id, i.variant_id, s.sku, s.name, s.slug, s.image_url, s.currency,
       i.selected_attributes || coalesce(s.attributes, jsonb_build_object()) as attributes,
       i.quantity, i.price_at_save, s.price as unit_price, i.stock_at_save,
       available_stock((select c.id from cart c where c.{owner_col} = %(owner)s and c.status = 'active'),
                       i.product_id, i.variant_id) as available_stock,
       s.active, i.saved_at
from shopping_list l
left join list_item i on i.list_id = l.id
left join lateral sellable(i.product_id, i.variant_id) s on true
where l.{owner_col} = %(owner)s
  and (l.id = %(list_id)s::uuid or (%(list_id)s::uuid is null and l.is_default))
order by i.saved_at, i.id
