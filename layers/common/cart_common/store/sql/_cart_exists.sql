exists (select 1 from cart where {owner_col} = %(owner)s and status = 'active')
