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
);
-- the sweep deletes buckets that have refilled (a missing bucket is a full one)
create index rate_bucket_full_at on rate_bucket (full_at);

-- Takes ``cost`` tokens from ``bucket`` when it holds at least ``need`` (default: the cost), else
-- stops the whole change with 429 rate_limited and the seconds until it would hold them. The row
-- lock on the bucket serialises every taker of one bucket, so N concurrent requests at the edge
-- admit exactly what the bucket holds. Callers take buckets before the cart row (one fixed order:
-- bucket, owner lock, cart, catalog), except the checkout bucket, taken last. With ``need`` 0 and
-- ``cost`` 0 it does nothing and returns no row. Time is the transaction's start (``now()``).
create function take_token(bucket text, quota integer, window_s integer, cost integer default 1,
                           need integer default null)
returns table (policy text, q integer, w integer, r integer, t integer)
language plpgsql volatile as $$
declare
    rate constant double precision := quota::double precision / window_s;
    wanted constant integer := coalesce(need, cost);
    available double precision;
    left_over double precision;
begin
    if cost = 0 and wanted = 0 then
        return;
    end if;
    insert into rate_bucket (key, tokens, at, full_at) values (bucket, quota, now(), now())
    on conflict (key) do nothing;
    select least(quota, b.tokens + greatest(0, extract(epoch from now() - b.at)) * rate)
    into available from rate_bucket b where b.key = bucket for update;
    if wanted > 0 and available < wanted then
        perform raise_problem('rate_limited', jsonb_build_object(
            'policy', split_part(bucket, ':', 1), 'limit', quota, 'windowSeconds', window_s,
            'retryAfter', ceil((wanted - available) / rate)::integer));
    end if;
    left_over := available - cost;
    update rate_bucket b
    set tokens = left_over, at = greatest(b.at, now()),
        full_at = now() + make_interval(secs => (quota - left_over) / rate)
    where b.key = bucket;
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
