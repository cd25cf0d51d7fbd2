-- Deleting a cart cascades into its checkouts: without an index on cart_id (the only one was
-- partial, open checkouts only) every cart the sweep deletes would scan the checkout table.
create index checkout_cart on checkout (cart_id);
