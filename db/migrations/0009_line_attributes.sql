-- A line's attributes are the shopper's own choices (a gift note, an engraving) beside the
-- catalog's: a variant's own attributes (size, colour) always win, and what a line holds is bounded
-- so no sequence of requests can grow a cart without limit.

-- The first key of ``attributes`` that ``catalog`` defines with another value, or null: an add that
-- contradicts the variant it names is refused (422 attribute_conflict).
create function attribute_conflict(attributes jsonb, catalog jsonb) returns text
language sql immutable parallel safe as $$
    select a.key from jsonb_each(attributes) as a
    where catalog ? a.key and catalog -> a.key <> a.value
    order by a.key limit 1
$$;

-- ``attributes`` without the keys ``catalog`` defines: those are shown from the catalog, never stored.
create function own_attributes(attributes jsonb, catalog jsonb) returns jsonb
language sql immutable parallel safe as $$
    select attributes - array(select jsonb_object_keys(coalesce(catalog, '{}'::jsonb)))
$$;

-- Whether ``attributes`` fits on one line: at most ``max_keys`` keys and ``max_bytes`` of JSON text.
create function attributes_fit(attributes jsonb, max_keys int, max_bytes int) returns boolean
language sql immutable parallel safe as $$
    select (select count(*) from jsonb_object_keys(attributes)) <= max_keys
       and octet_length(attributes::text) <= max_bytes
$$;

-- Two attribute sets meeting on one line where nothing may be refused (a sign-in merge, a line saved
-- onto a saved item): their union when it fits, else the existing set unchanged.
create function joined_attributes(existing jsonb, incoming jsonb, max_keys int, max_bytes int) returns jsonb
language sql immutable parallel safe as $$
    select case when attributes_fit(existing || incoming, max_keys, max_bytes) then existing || incoming
                else existing end
$$;

-- Lines written before this migration may hold keys their variant defines: the catalog's win.
update cart_item i set selected_attributes = own_attributes(i.selected_attributes, v.attributes)
from product_variant v
where v.id = i.variant_id and i.selected_attributes ?| array(select jsonb_object_keys(v.attributes));

update saved_item s set selected_attributes = own_attributes(s.selected_attributes, v.attributes)
from product_variant v
where v.id = s.variant_id and s.selected_attributes ?| array(select jsonb_object_keys(v.attributes));
