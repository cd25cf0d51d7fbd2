-- Step 1 of POST /cart/copy-shared, after the token's own checks (signature, expiry): the link still
-- exists (not revoked, its list not deleted, its owner not erased).
select case
    when exists (select 1 from share_link where id = %(share_id)s::uuid and expires_at > now()) then 0
    else raise_problem('share_link_revoked')
end as outcome
