-- Step 1 of every change to an existing cart: the cart row locked, version bumped, expiry slid,
-- abandoned mark cleared, its open checkout released; a stale If-Match stops the whole change.
with {release_checkout},
touched as (
    update cart
    set version = version + 1,
        last_activity_at = now(),
        updated_at = now(),
        abandoned_at = null,
        expires_at = greatest(expires_at, now() + %(ttl_days)s::float8 * interval '1 day')
    where {owner_col} = %(owner)s and status = 'active'
      and (%(expected)s::int is null or version = %(expected)s::int)
    returning version
)
select check_version(%(expected)s::int, exists (select 1 from touched), {cart_exists}) as outcome
