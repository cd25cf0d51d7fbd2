-- POST /cart/share and POST /lists/:listId/share: a share link's row (its id and expiry are the signed
-- token's: cart_common/shares.py), within the owner's limit of live links. A cart's link keeps the
-- cart's lines as they are now (product, variant, quantity; never the shopper's own attributes: a gift
-- note is theirs), and a cart with none is cart_empty; a list's names the list, whose items it shows as
-- they are (another owner's list is list_not_found).
with live as (
    select count(*) as links from share_link where {owner_col} = %(owner)s and expires_at > now()
),
lines_ as (
    select jsonb_agg(jsonb_build_object('product_id', i.product_id, 'variant_id', i.variant_id,
                                        'quantity', i.quantity) order by i.created_at, i.id) as lines
    from cart c join cart_item i on i.cart_id = c.id
    where %(list_id)s::uuid is null and c.{owner_col} = %(owner)s and c.status = 'active'
),
list_ as (
    select id from shopping_list where id = %(list_id)s::uuid and {owner_col} = %(owner)s
),
made as (
    insert into share_link (id, {owner_col}, list_id, lines, expires_at)
    select %(share_id)s::uuid, %(owner)s, (select id from list_), (select lines from lines_), %(expires_at)s
    where (select links from live) < %(max_links)s::int
      and (exists (select 1 from list_) or (select lines from lines_) is not null)
    returning id
)
select case
    when %(list_id)s::uuid is not null and not exists (select 1 from list_) then
        raise_problem('list_not_found', jsonb_build_object('listId', %(list_id)s::text))
    when %(list_id)s::uuid is null and (select lines from lines_) is null then raise_problem('cart_empty')
    when not exists (select 1 from made) then raise_problem('list_limit_exceeded', jsonb_build_object(
        'limit', 'maxShareLinks', 'allowed', %(max_links)s::int))
    else 0
end as outcome
