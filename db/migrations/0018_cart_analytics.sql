-- Cart analytics for the merchant (issue 23, docs/admin.md#cart-analytics): a daily rollup the hourly
-- sweep maintains (cart_common/analytics.py), which GET /admin/analytics/carts reads, and the two
-- facts no table kept so far: lines the shopper removed, and changes refused by stock, limits or
-- purchase rules.

-- What the rollup reads from the tables it does not own, by index, a day at a time: carts created
-- (one more entry per cart version: cart updates are never HOT, expires_at and last_activity_at are
-- indexed already), and the outbox's CartAbandoned, CartRecovered and CheckoutCompleted rows.
create index cart_created_at on cart (created_at);
create index cart_event_type_created on cart_event (detail_type, created_at);

-- A line the shopper removed (remove, quantity 0, clear, a sync that drops it), written by the
-- statement that removes it, in its transaction: no round trip of its own, gone with a rolled-back
-- change. Append-only with no key but the time, no foreign key (an insert would lock the product row
-- for key share) and no link to a cart or a person; the sweep deletes rows once their day is rolled up
-- for good.
create table cart_line_removal (
    removed_at timestamptz not null default now(),
    product_id uuid not null,
    variant_id uuid,
    quantity   integer not null
);
create index cart_line_removal_at on cart_line_removal (removed_at);

-- One row per UTC day. Flows (created, abandoned, recovered, converted, refusals) count what happened
-- that day; active is a stock: carts open at the day's last rollup. A day is recomputed by every run
-- until it is final (a run after its end and a grace period); a final day is never written again, so
-- runs that overlap or repeat (Lambda's retries) converge on the same rows. Null: not known (active
-- when no run happened during the day; refusals when the day's counters were not set up for it).
create table analytics_day (
    day            date primary key,
    created        integer not null,
    active         integer,
    abandoned      integer not null,
    recovered      integer not null,
    converted      integer not null,
    refused_stock  bigint,
    refused_limits bigint,
    refused_rules  bigint,
    final          boolean not null default false,
    computed_at    timestamptz not null
);

-- The value of the day's abandoned and converted carts per currency (sums and counts, so any range's
-- average is exact).
create table analytics_day_value (
    kind     text not null check (kind in ('abandoned', 'converted')),
    day      date not null,
    currency char(3) not null,
    carts    integer not null,
    total    numeric not null,
    primary key (kind, day, currency)
);

-- The day's most abandoned and most removed products (the first ANALYTICS_TOP_PER_DAY of each).
create table analytics_day_product (
    kind       text not null check (kind in ('abandoned', 'removed')),
    day        date not null,
    product_id uuid not null,
    times      integer not null,  -- abandoned carts holding it / lines of it removed
    units      bigint not null,
    primary key (kind, day, product_id)
);

-- The same per calendar month, summed from the month's days each time one of them is rolled up: a
-- long range reads its whole months here and only the days at its ends from the table above.
create table analytics_month_product (
    kind       text not null check (kind in ('abandoned', 'removed')),
    month      date not null check (extract(day from month) = 1),
    product_id uuid not null,
    times      bigint not null,
    units      bigint not null,
    primary key (kind, month, product_id)
);

-- Refusals. A refused change rolls back everything it wrote, so no row can count it; a sequence can:
-- nextval is never rolled back (PostgreSQL manual, "Sequence Manipulation Functions"). raise_problem
-- (the one way every statement refuses) takes one number from the counter of the refusal's reason and
-- day, in the refusing statement itself: no round trip, nothing on the path of a change that succeeds.
-- A day's counters are one slot of a ring of eight per reason (the UTC day number modulo 8); the sweep
-- readies a slot for a coming day (setval to empty) once the day it counted before is rolled up for
-- good, and records which day each slot counts, so a slot that was not readied is never read as
-- another day's. After a server crash a counter may run ahead by up to 32 (the sequence's logged
-- values), never behind.
create function analytics_slot(day date) returns integer
language sql immutable parallel safe as $$
    select ((day - date '2000-01-01') % 8 + 8) % 8
$$;

-- The reason a refusal code counts under: stock, limits (the cart's and the saved list's limits), or
-- rules (the catalog's purchase rules); null for anything else (not found, conflicts, rate limits).
create function refusal_reason(code text) returns text
language sql immutable parallel safe as $$
    select case code
        when 'insufficient_stock' then 'stock'
        when 'limit_exceeded' then 'limits'
        when 'restricted' then 'rules'
        when 'incompatible' then 'rules'
        when 'currency_mismatch' then 'rules'
    end
$$;

do $$
declare
    reason text;
    slot integer;
begin
    foreach reason in array array['stock', 'limits', 'rules'] loop
        for slot in 0..7 loop
            execute format('create sequence analytics_refused_%s_%s as bigint minvalue 1 start 1', reason, slot);
        end loop;
    end loop;
end
$$;

create table analytics_refusal_slot (
    slot smallint primary key check (slot between 0 and 7),
    day  date not null unique
);
-- From the migration on, today and the next seven days count (their counters are empty).
insert into analytics_refusal_slot (slot, day)
select analytics_slot(d::date), d::date
from generate_series((now() at time zone 'UTC')::date, (now() at time zone 'UTC')::date + 7, interval '1 day') d;

create or replace function raise_problem(code text, detail jsonb default '{}'::jsonb) returns integer
language plpgsql as $$
declare
    reason constant text := refusal_reason(code);
begin
    if reason is not null then
        perform nextval(format('analytics_refused_%s_%s', reason,
                               analytics_slot((now() at time zone 'UTC')::date))::regclass);
    end if;
    raise exception using errcode = 'P0001', message = code, detail = detail::text, hint = 'cart_problem';
end
$$;

-- The refusals of ``of_day`` by reason; no row when its slot was not readied for it, or when the
-- slot may have been reused since (eight days on).
create function analytics_refusals(of_day date)
returns table (stock bigint, limits bigint, rules bigint)
language sql stable as $$
    select coalesce(pg_sequence_last_value(format('analytics_refused_stock_%s', s.slot)::regclass), 0),
           coalesce(pg_sequence_last_value(format('analytics_refused_limits_%s', s.slot)::regclass), 0),
           coalesce(pg_sequence_last_value(format('analytics_refused_rules_%s', s.slot)::regclass), 0)
    from analytics_refusal_slot s
    where s.slot = analytics_slot(of_day) and s.day = of_day
      and now() < (of_day + 8)::timestamp at time zone 'UTC'
$$;

-- Readies the slots of the two days after ``today`` (the sweep, every run): a slot is emptied and
-- given to its coming day once the day it counts is rolled up for good or out of reach (older than
-- seven days); one readied a day or two ahead is never emptied while its day is counting. Security
-- definer: emptying a sequence (setval) takes UPDATE on it, which the application role has on no
-- sequence. Returns the slots readied.
create function analytics_ready_refusal_slots(today date) returns integer
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
    coming date;
    n integer;
    counting date;
    readied integer := 0;
begin
    for coming in select d::date from generate_series(today + 1, today + 2, interval '1 day') d loop
        n := analytics_slot(coming);
        select s.day into counting from analytics_refusal_slot s where s.slot = n for update;
        continue when counting = coming;
        continue when counting is not null and counting >= today - 7
                  and not exists (select 1 from analytics_day a where a.day = counting and a.final);
        perform setval(format('analytics_refused_%s_%s', reason, n)::regclass, 1, false)
        from unnest(array['stock', 'limits', 'rules']) reason;
        insert into analytics_refusal_slot as s (slot, day) values (n, coming)
        on conflict (slot) do update set day = excluded.day;
        readied := readied + 1;
    end loop;
    return readied;
end
$$;
