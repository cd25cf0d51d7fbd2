-- Step 1 of every change of one list (and of what reads a list to change the cart: a move to the cart,
-- a restore): the list row locked, its version raised by ``bump`` (0 or 1), a guest's expiry slid,
-- a new name when ``name`` is given. Another owner's list is list_not_found, exactly as one that does
-- not exist; a stale If-Match (expected) stops the whole change with list_changed.
with list_ as (
    select id, version from shopping_list where id = %(list_id)s::uuid and {owner_col} = %(owner)s
),
touched as (
    update shopping_list l
    set version = l.version + %(bump)s::int,
        name = coalesce(%(name)s::text, l.name),
        updated_at = case when %(bump)s::int > 0 then now() else l.updated_at end,
        expires_at = greatest(l.expires_at, now() + %(ttl_days)s::float8 * interval '1 day')
    from list_
    where l.id = list_.id and (%(expected)s::int is null or l.version = %(expected)s::int)
    returning l.id
)
select case
    when exists (select 1 from touched) then 0
    when not exists (select 1 from list_) then
        raise_problem('list_not_found', jsonb_build_object('listId', %(list_id)s::text))
    else raise_problem('list_changed', jsonb_build_object('currentVersion', (select version from list_)))
end as outcome
