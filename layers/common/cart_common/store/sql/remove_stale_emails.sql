-- Shoppers' emails (kept only for abandoned-cart win-back) whose user has had no cart activity for
-- days days and that were not captured within them either. One window of the table per
-- statement, in user_id order; no lock is taken on the rows kept, and a concurrent sign-in that
-- rewrites a row makes the delete re-check it.
with scanned as materialized (
    select user_id from shopper
    where user_id > %(after)s
    order by user_id
    limit %(batch)s
),
removed as (
    delete from shopper s
    where s.user_id = any(array(select user_id from scanned))
      and s.updated_at < now() - %(days)s::float8 * interval '1 day'
      and not exists (select 1 from cart c where c.user_id = s.user_id
                      and c.last_activity_at >= now() - %(days)s::float8 * interval '1 day')
    returning s.user_id
)
select (select max(user_id) from scanned) as last_user_id, (select count(*) from removed) as removed
