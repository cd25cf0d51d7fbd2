-- Step 1 of a change that may create the cart (an add, a sync): the cart row, locked (created on a
-- first change, in the product's currency, else the default one), version bumped, expiry slid,
-- abandoned mark cleared. With If-Match (expected) a stale version stops the whole change; 0
-- means "only if there is no cart yet".
with {release_checkout},
ensured as (
    insert into cart ({owner_col}, currency, expires_at)
    values (%(owner)s,
            coalesce((select currency from product where id = %(product_id)s), %(default_currency)s),
            now() + %(ttl_days)s::float8 * interval '1 day')
    on conflict ({owner_col}) where status = 'active'
    do update set version = cart.version + 1,
                  last_activity_at = now(),
                  updated_at = now(),
                  abandoned_at = null,
                  expires_at = greatest(cart.expires_at, excluded.expires_at)
    where %(expected)s::int is null or cart.version = %(expected)s::int
    returning (xmax = 0) as inserted
)
select case
    when %(expected)s::int is null then 0
    when not exists (select 1 from ensured) then raise_problem('version_conflict')
    when (select inserted from ensured) and %(expected)s::int <> 0 then raise_problem('version_conflict')
    else 0
end as outcome
