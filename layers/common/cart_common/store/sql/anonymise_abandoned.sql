-- Abandoned-cart records older than days days (see lifecycle.py for the policy): marked
-- anonymised; a cart that is no longer active also loses every key that leads to a person.
with due as materialized (
    select c.id from cart c
    where c.abandoned_at < now() - %(days)s::float8 * interval '1 day' and c.anonymised_at is null
    order by c.abandoned_at
    limit %(batch)s
    for update of c skip locked
),
anonymised as (
    update cart c
    set anonymised_at = now(),
        updated_at = now(),
        user_id = case when c.status = 'active' then c.user_id end,
        session_id = case when c.status = 'active' then c.session_id end,
        merged_into = case when c.status = 'active' then c.merged_into end
    where c.id = any(array(select id from due))
      and c.abandoned_at < now() - %(days)s::float8 * interval '1 day' and c.anonymised_at is null
    returning c.id
)
select count(*) as anonymised from anonymised
