-- Recovery step 1 (after the owner lock and the carts locked in id order): may the caller have the
-- cart this recovery link names, as abandoned at %(abandoned_at)s? Stops the round trip with a
-- problem, or says 'recover' (the mark the link names still stands) or 'replay' (the caller already
-- recovered it with this link: a reload of the page). A user's cart goes only to that user: a guest
-- is asked to sign in, another user is told there is no such cart, as for any cart not theirs.
-- %(user)s: the signed-in caller's sub (null for a guest); %(session)s: a guest caller's session.
with target as (
    select status, user_id, session_id, abandoned_at, recovered_at from cart where id = %(cart_id)s
)
select case
    when not exists (select 1 from target) then raise_problem('cart_not_found')::text
    when t.user_id is not null and %(user)s::text is null then raise_problem('authentication_required',
        jsonb_build_object('detail', 'Sign in to get this cart back: it belongs to an account'))::text
    when t.user_id is not null and t.user_id <> %(user)s::text then raise_problem('cart_not_found')::text
    when t.status = 'active' and t.abandoned_at = %(abandoned_at)s::timestamptz then 'recover'
    when t.recovered_at >= %(abandoned_at)s::timestamptz and t.status = 'active'
         and (t.user_id = %(user)s::text or (%(user)s::text is null and t.session_id = %(session)s::text))
        then 'replay'
    when t.recovered_at >= %(abandoned_at)s::timestamptz then raise_problem('recovery_link_used')::text
    else raise_problem('recovery_link_stale')::text
end as outcome
from (select * from target) t
right join (select 1) one on true
