-- Step 2 of DELETE /lists/:listId/items/:listItemId (step 1, touch_list, checked the list is the owner's).
with removed as (
    delete from list_item where id = %(list_item_id)s::uuid and list_id = %(list_id)s::uuid returning id
)
select case
    when exists (select 1 from removed) then 0
    else raise_problem('list_item_not_found', jsonb_build_object('listItemId', %(list_item_id)s::text))
end as outcome
