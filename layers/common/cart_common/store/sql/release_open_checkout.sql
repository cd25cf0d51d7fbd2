-- Checkout step 4: the previous checkout released, and If-Match checked (the shopper checks out the
-- cart they reviewed); the cart is locked since step 1, so its version cannot move meanwhile.
with {release_checkout}
select check_version(
    %(expected)s::int,
    exists (select 1 from cart where {owner_col} = %(owner)s and status = 'active' and version = %(expected)s::int),
    {cart_exists}
) as outcome
