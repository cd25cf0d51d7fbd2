-- GET /shares (and every share answer): the owner's live links, oldest first.
select s.id, s.list_id, l.name as list_name, s.created_at, s.expires_at
from share_link s
left join shopping_list l on l.id = s.list_id
where s.{owner_col} = %(owner)s and s.expires_at > now()
order by s.created_at, s.id
