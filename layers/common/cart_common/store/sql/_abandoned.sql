c.status = 'active' and c.abandoned_at is not null
  and c.abandoned_value >= %(min_value)s
  and c.abandoned_at >= coalesce(%(since)s::timestamptz, '-infinity')
