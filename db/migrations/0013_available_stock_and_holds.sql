-- Issue 20: one definition of available stock, and the checkout bucket counting what a shopper
-- holds rather than how often they look at checkout.

-- Stock other carts hold: the lines of open, unexpired checkouts of carts other than ``cart``.
-- Redefined from 0010: a cart that does not exist yet (null) holds nothing, so every checkout is
-- another's (``<>`` counted none), and each branch reads the reservation index of its kind (a
-- variant's lines, or a product's own) instead of a null-safe comparison no index can serve.
create or replace function held_by_others(cart uuid, product uuid, variant uuid) returns bigint
language sql stable as $$
    select coalesce(sum(h.quantity), 0)
    from (select r.checkout_id, r.quantity from reservation r
          where variant is not null and r.variant_id = variant
          union all
          select r.checkout_id, r.quantity from reservation r
          where variant is null and r.variant_id is null and r.product_id = product) h
    join checkout k on k.id = h.checkout_id
    where k.status = 'open' and k.expires_at > now() and k.cart_id is distinct from cart
$$;

-- Available stock, the one definition every statement reads (the cart view, add, restore, update,
-- switch, save, sync, merge, validate and checkout): what ``cart`` can have of (product, variant)
-- now — its stock less what other carts' open, unexpired checkouts hold, never below 0. The cart's
-- own open checkout does not count against it (a change releases it anyway). Null when the
-- product does not exist.
create function available_stock(cart uuid, product uuid, variant uuid) returns integer
language sql stable as $$
    select greatest(0, s.stock - held_by_others(cart, product, variant))::integer
    from sellable(product, variant) s
$$;

-- The checkout bucket's token a checkout holds (see cart_common/store/limits.py): the bucket it
-- was taken from and that bucket's quota, set when the checkout opened and cleared when the token
-- went back (a release, a completion), so it goes back once whatever path ends the checkout.
-- Null: no token (rate limits off, or opened before this migration).
alter table checkout add column token_bucket text, add column token_quota integer;
