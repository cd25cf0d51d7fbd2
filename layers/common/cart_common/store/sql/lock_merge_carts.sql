-- Merge step 1: both carts locked in one fixed order (by id), so two merges, or a merge and the
-- writers of either cart, queue up instead of deadlocking.
select id from cart
where ((session_id = %(guest)s) or (user_id = %(user)s)) and status = 'active'
order by id
for update
