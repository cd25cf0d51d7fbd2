-- Issue 23 (bulk changes, "buy again").

-- POST /cart/reorder finds a completed order by the order id the order service gave it
-- (checkout.order_id), among the caller's own converted carts. Only completed checkouts carry an
-- order id, so the index holds those alone.
create index checkout_order on checkout (order_id) where order_id is not null;

-- Facts of migrations 0010 and 0013 (has_variants, held_by_others, available_stock), also as table
-- functions a statement can join: PostgreSQL plans a SQL function that returns a table as part of
-- the query that reads it (as it does sellable), while one that returns a value and reads a table
-- runs as a call of its own for every row, ~25 µs each, and a bulk change of 50 lines asks for 50
-- (bench/BULK.md). The definitions move here unchanged, and the value functions
-- every other statement calls read them, so each fact still has one definition.
create function stock_held_by_others(cart uuid, product uuid, variant uuid) returns table (held bigint)
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

-- No row when the product does not exist (available_stock is then null, as before).
create function stock_available_to(cart uuid, product uuid, variant uuid) returns table (available integer)
language sql stable as $$
    select greatest(0, s.stock - h.held)::integer
    from sellable(product, variant) s
    cross join lateral stock_held_by_others(cart, product, variant) h
$$;

-- Whether a product is sold only as one of its variants (0010's has_variants).
create function variants_of(product uuid) returns table (has_variants boolean)
language sql stable as $$
    select exists (select 1 from product_variant x where x.product_id = product)
$$;

create or replace function has_variants(product uuid) returns boolean
language sql stable as $$
    select has_variants from variants_of(product)
$$;

create or replace function held_by_others(cart uuid, product uuid, variant uuid) returns bigint
language sql stable as $$
    select held from stock_held_by_others(cart, product, variant)
$$;

create or replace function available_stock(cart uuid, product uuid, variant uuid) returns integer
language sql stable as $$
    select available from stock_available_to(cart, product, variant)
$$;

-- Refusals for the merchant's analytics (0018): raise_problem counts the refusal it raises, and a bulk
-- change (refused as a whole, bulk_rejected, which counts under no reason) or a reorder (which skips
-- the lines that do not fit, raising nothing) counts each refused change it reports, as the single
-- change would have been counted. The counting moves here from raise_problem, unchanged, so both
-- count alike.
create function count_refusal(code text) returns integer
language plpgsql as $$
declare
    reason constant text := refusal_reason(code);
begin
    if reason is null then
        return 0;
    end if;
    perform nextval(format('analytics_refused_%s_%s', reason,
                           analytics_slot((now() at time zone 'UTC')::date))::regclass);
    return 1;
end
$$;

create or replace function raise_problem(code text, detail jsonb default '{}'::jsonb) returns integer
language plpgsql as $$
begin
    perform count_refusal(code);
    raise exception using errcode = 'P0001', message = code, detail = detail::text, hint = 'cart_problem';
end
$$;
