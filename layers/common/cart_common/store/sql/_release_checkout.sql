-- Changing a cart releases the stock its open checkout holds.
released as (
    update checkout k set status = 'released'
    from cart c
    where k.cart_id = c.id and c.{owner_col} = %(owner)s and c.status = 'active' and k.status = 'open'
    returning k.id
),
released_lines as (
    -- a released reservation holds nothing: its lines go now, so stock checks never wade through them
    delete from reservation r using released where r.checkout_id = released.id
)
