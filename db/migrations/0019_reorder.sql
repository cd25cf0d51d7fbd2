-- Issue 23 (bulk changes, "buy again"): POST /cart/reorder finds a completed order by the order id
-- the order service gave it (checkout.order_id), among the caller's own converted carts. Only
-- completed checkouts carry an order id, so the index holds those alone.
create index checkout_order on checkout (order_id) where order_id is not null;
