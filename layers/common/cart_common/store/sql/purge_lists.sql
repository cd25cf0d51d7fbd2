-- The sweep's lists step (issue 23): guest lists past expires_at (every change slides it; a user's
-- list has none) with their items and links, and share links past theirs (an expired token is refused
-- before the database, so its row has nothing left to answer). A batch of each, rows taken with
-- SKIP LOCKED and the expiry re-checked on the locked row, so a list touched meanwhile is kept.
with doomed_lists as materialized (
    select id from shopping_list where expires_at < now()
    order by expires_at limit %(batch)s
    for update skip locked
),
lists_gone as (
    delete from shopping_list where id = any(array(select id from doomed_lists)) and expires_at < now()
    returning 1
),
doomed_links as materialized (
    select id from share_link where expires_at < now()
    order by expires_at limit %(batch)s
    for update skip locked
),
links_gone as (
    delete from share_link where id = any(array(select id from doomed_links)) returning 1
)
select (select count(*) from lists_gone) as lists, (select count(*) from links_gone) as links
