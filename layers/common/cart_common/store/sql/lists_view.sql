-- GET /lists: the owner's lists, the default first, then by age.
select l.id, l.name, l.is_default, l.version, l.created_at, l.updated_at,
       (select count(*) from list_item i where i.list_id = l.id) as item_count
from shopping_list l
where l.{owner_col} = %(owner)s
order by l.is_default desc, l.created_at, l.id
