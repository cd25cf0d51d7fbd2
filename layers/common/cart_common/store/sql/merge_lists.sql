-- The sign-in merge's lists (store/merge.py: in the merge's round trip, after both owners' lists locks):
-- a guest's lists and share links become the user's. The guest's Wishlist is folded into the user's
-- (an item both hold keeps the larger quantity) when their items together fit one list; otherwise, and
-- when the user has none, it comes over as it is (no longer the default when the user has one). Nothing
-- is dropped: a user may end above the limit of lists, and then cannot make another until some go. A
-- guest's list expires; a user's never. Idempotent: a replay finds no guest list left.
with user_default as (
    select id from shopping_list where user_id = %(user)s and is_default
),
folding as (
    select g.id as guest_id, u.id as user_id
    from shopping_list g cross join user_default u
    where g.session_id = %(guest)s and g.is_default
      and (select count(*) from (select distinct i.product_id, i.variant_id from list_item i
                                 where i.list_id in (g.id, u.id)) x) <= %(max_items)s::int
),
folded as (
    insert into list_item (list_id, product_id, variant_id, quantity, price_at_save, stock_at_save,
                           selected_attributes, saved_at)
    select f.user_id, i.product_id, i.variant_id, i.quantity, i.price_at_save, i.stock_at_save,
           i.selected_attributes, i.saved_at
    from folding f join list_item i on i.list_id = f.guest_id
    on conflict on constraint list_item_line do update
    set quantity = greatest(list_item.quantity, excluded.quantity)
),
bumped as (
    update shopping_list l set version = l.version + 1, updated_at = now()
    from folding f where l.id = f.user_id
),
folded_away as (
    delete from shopping_list l using folding f where l.id = f.guest_id
),
moved as (
    update shopping_list l
    set user_id = %(user)s, session_id = null, expires_at = null, version = l.version + 1, updated_at = now(),
        is_default = l.is_default and not exists (select 1 from user_default)
    where l.session_id = %(guest)s and not exists (select 1 from folding f where f.guest_id = l.id)
    returning l.id
),
-- (one update of each link: a statement may change a row only once) a link to the folded Wishlist
-- now shows the user's, which holds everything it held
links as (
    update share_link s
    set user_id = %(user)s, session_id = null,
        list_id = coalesce((select f.user_id from folding f where f.guest_id = s.list_id), s.list_id)
    where s.session_id = %(guest)s
    returning s.id
)
select (select count(*) from moved) as moved, (select count(*) from folding) as folded,
       (select count(*) from links) as links
