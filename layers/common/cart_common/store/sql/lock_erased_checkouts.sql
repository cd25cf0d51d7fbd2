-- Erasure, step 2: the checkouts of the user's carts locked before the carts, in the order a
-- completion takes them (checkout, then cart), so an erasure and a completion queue up rather than
-- deadlock (the user's own carts and the guest carts merged into them).
select k.id
from checkout k
where k.cart_id in (select c.id from cart c where c.user_id = %(user_id)s
                    union all
                    select g.id from cart g join cart u on g.merged_into = u.id where u.user_id = %(user_id)s)
order by k.id
for update of k
