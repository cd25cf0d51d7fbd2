-- Abuse controls (issue 14): token buckets kept beside the carts, so a change checks its limit in
-- the statements of its own round trip (no extra round trip, no extra service).
--
-- A bucket holds up to ``quota`` tokens and refills ``quota`` tokens per ``window_s`` seconds (the
-- q and w of the RateLimit-Policy header). Its key says whose it is: ``changes:<kind>:<owner>``,
-- ``codes:<kind>:<owner>`` (failed discount codes), ``checkouts:user:<sub>`` (checkouts not
-- completed) and ``guest-carts:<address hash>`` (a client address, HMAC'd with a daily salt: never
-- the address itself).
create table rate_bucket (
    key     text primary key,
    tokens  double precision not null,  -- as of ``at``; negative after failures charged late
    at      timestamptz not null,
    full_at timestamptz not null        -- when it is full again: from then on the row says nothing
) with (fillfactor = 70);
-- No index but the key: every take updates the row, and with room on its page (fillfactor) and no
-- indexed column changed, the update is HOT (no index entries written). The hourly sweep finds the
-- refilled buckets by scanning the table.

-- Takes ``cost`` tokens from ``bucket`` when it holds at least ``need`` (default: the cost), else
-- stops the whole change with 429 rate_limited and the seconds until it would hold them. One upsert
-- refills, checks and takes; its row lock serialises every taker of one bucket, so N concurrent
-- requests at the edge admit exactly what the bucket holds (a refused taker holds the lock too,
-- until its change rolls back). Callers take buckets before the cart row (one fixed order: bucket,
-- owner lock, cart, catalog), except the checkout bucket, taken last. With ``need`` and ``cost`` 0
-- it does nothing and returns no row. Time is the transaction's start (``now()``).
create function take_token(bucket text, quota integer, window_s integer, cost integer default 1,
                           need integer default null)
returns table (policy text, q integer, w integer, r integer, t integer)
language plpgsql volatile as $$
declare
    rate constant double precision := quota::double precision / window_s;
    wanted constant integer := coalesce(need, cost);
    left_over double precision;
    available double precision;
begin
    if cost = 0 and wanted = 0 then
        return;
    end if;
    insert into rate_bucket as b (key, tokens, at, full_at)
    values (bucket, quota - cost, now(), now() + make_interval(secs => cost / rate))
    on conflict (key) do update
    set tokens = least(quota, b.tokens + greatest(0, extract(epoch from now() - b.at)) * rate) - cost,
        at = greatest(b.at, now()),
        full_at = now() + make_interval(secs =>
            (quota + cost - least(quota, b.tokens + greatest(0, extract(epoch from now() - b.at)) * rate)) / rate)
    where wanted <= 0 or least(quota, b.tokens + greatest(0, extract(epoch from now() - b.at)) * rate) >= wanted
    returning b.tokens into left_over;
    if not found then
        select least(quota, b.tokens + greatest(0, extract(epoch from now() - b.at)) * rate)
        into available from rate_bucket b where b.key = bucket;
        perform raise_problem('rate_limited', jsonb_build_object(
            'policy', split_part(bucket, ':', 1), 'limit', quota, 'windowSeconds', window_s,
            'retryAfter', ceil((wanted - available) / rate)::integer));
    end if;
    return query select split_part(bucket, ':', 1), quota, window_s,
                        greatest(0, floor(left_over))::integer, ceil((quota - left_over) / rate)::integer;
end
$$;

-- Gives one token back (a checkout that completed was not hoarding), never beyond the quota.
create function refund_token(bucket text, quota integer) returns integer
language sql volatile as $$
    update rate_bucket set tokens = least(quota, tokens + 1) where key = bucket;
    select 0
$$;
