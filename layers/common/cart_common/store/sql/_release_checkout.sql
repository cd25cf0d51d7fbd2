-- Changing a cart releases the stock its open checkout holds, and gives back the checkout bucket's
-- token that checkout took (store/limits.py: the bucket counts what a shopper holds). ``held`` is
-- the checkout as it was: the token is cleared in the same update, so it goes back once.
released as (
    update checkout k set status = 'released', token_bucket = null
    from cart c, checkout held
    where k.cart_id = c.id and c.{owner_col} = %(owner)s and c.status = 'active' and k.status = 'open'
      and held.id = k.id
    returning k.id, held.token_bucket, held.token_quota
),
released_lines as (
    -- a released reservation holds nothing: its lines go now, so stock checks never wade through them
    delete from reservation r using released where r.checkout_id = released.id
),
released_token as (
    update rate_bucket b set tokens = least(r.token_quota, b.tokens + 1) from released r where b.key = r.token_bucket
)
