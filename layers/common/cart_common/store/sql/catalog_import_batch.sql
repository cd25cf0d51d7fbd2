-- One batch of an import file (cart_common/catalog_import.py), in one short transaction: the lines'
-- products claimed for the job (a product a previous batch of this file applied is a duplicate line),
-- the claimed ones applied in product id order (catalog_apply, migration 0015), and the job's progress
-- recorded with them, so a run that stops after this commit continues after this batch, and one that
-- stops before it repeats the batch (every write is versioned: a repeat changes nothing).
with input as (
    select x as item, (x->>'productId')::uuid as product_id, (x->>'i')::integer as line
    from jsonb_array_elements(%(items)s::jsonb) x
),
claimed as (
    insert into import_job_product (job_id, product_id, line)
    select %(job)s::uuid, i.product_id, i.line from input i order by i.product_id
    on conflict do nothing
    returning product_id, line
),
applied as (
    select a.i as line, a.outcome
    from catalog_apply((select coalesce(jsonb_agg(i.item), '[]'::jsonb)
                        from input i join claimed c on c.product_id = i.product_id and c.line = i.line)) a
),
duplicates as (
    select i.line, 'duplicate_id' as outcome, j.line as first_line
    from input i join import_job_product j on j.job_id = %(job)s::uuid and j.product_id = i.product_id
),
refused as (
    select jsonb_build_object('line', a.line, 'code', a.outcome) as rejection
    from applied a where a.outcome not in ('applied', 'clamped', 'unchanged')
    union all
    select jsonb_build_object('line', d.line, 'code', d.outcome, 'firstLine', d.first_line) from duplicates d
),
progress as (
    update import_job j
    set byte_offset = %(byte_offset)s, line_number = %(line_number)s,
        applied = j.applied + (select count(*) from applied a where a.outcome in ('applied', 'clamped')),
        unchanged = j.unchanged + (select count(*) from applied a where a.outcome = 'unchanged'),
        rejected = j.rejected + %(invalid)s + (select count(*) from refused),
        rejections = j.rejections || coalesce((
            select jsonb_agg(r.rejection) from (
                select r.rejection from (
                    select value as rejection from jsonb_array_elements(%(rejections)s::jsonb)
                    union all select rejection from refused
                ) r
                order by (r.rejection->>'line')::integer
                limit greatest(0, 1000 - jsonb_array_length(j.rejections))
            ) r), '[]'::jsonb),
        updated_at = now()
    where j.id = %(job)s::uuid and j.lease = %(lease)s::uuid
    returning j.applied, j.unchanged, j.rejected
)
select (select count(*) from applied) as attempted,
       (select count(*) from applied a where a.outcome = 'clamped') as clamped,
       (select count(*) from progress) as progressed
