-- Recovery step 3: the cart becomes the caller's (a guest's session, or the signed-in user), its
-- mark cleared and the recovery recorded; its version, activity and expiry move on as with any
-- change. Runs after step 2 has marked the caller's other active carts merged, so the one-active-
-- cart-per-owner index never sees two. Does nothing on a replay.
update cart c
set user_id = coalesce(%(user)s::text, c.user_id),
    session_id = case when %(user)s::text is null then %(session)s::text end,
    abandoned_at = null, recovered_at = now(),
    version = c.version + 1, last_activity_at = now(), updated_at = now(),
    expires_at = greatest(c.expires_at, now() + %(ttl_days)s::float8 * interval '1 day')
where c.id = %(cart_id)s and c.status = 'active' and c.abandoned_at = %(abandoned_at)s::timestamptz
returning c.id, c.recovered_at
