-- Demo catalog for local development: loaded by `make dev` only when the catalog is empty.
-- Fixed ids so the README's curl examples and events/*.json work as written. Each image_url is a file the
-- storefront serves from storefront/public/img/ (drawn by `python -m local.demo_images`).
insert into product (id, name, slug, image_url, price, currency, stock, max_per_order, active) values
  ('00000000-0000-4000-8000-000000000001', 'Classic T-shirt', 'classic-t-shirt', '/img/classic-t-shirt.webp', 1999, 'USD', 0, null, true),
  ('00000000-0000-4000-8000-000000000002', 'Running shoes', 'running-shoes', '/img/running-shoes.webp', 8900, 'USD', 0, 4, true),
  ('00000000-0000-4000-8000-000000000003', 'Coffee mug', 'coffee-mug', '/img/coffee-mug.webp', 1250, 'USD', 40, null, true),
  ('00000000-0000-4000-8000-000000000004', 'Art poster', 'art-poster', '/img/art-poster.webp', 2500, 'USD', 3, null, true),
  ('00000000-0000-4000-8000-000000000005', 'Hoodie', 'hoodie', '/img/hoodie.webp', 4900, 'USD', 0, null, true),
  ('00000000-0000-4000-8000-000000000006', 'Retired cap', 'retired-cap', '/img/retired-cap.webp', 1500, 'USD', 10, null, false);

insert into product_variant (id, product_id, sku, attributes, price, stock, active) values
  ('00000000-0000-4000-8001-000000000001', '00000000-0000-4000-8000-000000000001', 'TSHIRT-S-RED',  '{"size": "S", "colour": "red"}',  null, 25, true),
  ('00000000-0000-4000-8001-000000000002', '00000000-0000-4000-8000-000000000001', 'TSHIRT-M-RED',  '{"size": "M", "colour": "red"}',  null, 30, true),
  ('00000000-0000-4000-8001-000000000003', '00000000-0000-4000-8000-000000000001', 'TSHIRT-L-RED',  '{"size": "L", "colour": "red"}',  null, 0,  true),
  ('00000000-0000-4000-8001-000000000004', '00000000-0000-4000-8000-000000000001', 'TSHIRT-M-BLUE', '{"size": "M", "colour": "blue"}', null, 12, true),
  ('00000000-0000-4000-8001-000000000005', '00000000-0000-4000-8000-000000000002', 'SHOE-42',       '{"size": "42"}',                 null, 6,  true),
  ('00000000-0000-4000-8001-000000000006', '00000000-0000-4000-8000-000000000002', 'SHOE-43',       '{"size": "43"}',                 null, 2,  true),
  ('00000000-0000-4000-8001-000000000007', '00000000-0000-4000-8000-000000000002', 'SHOE-44',       '{"size": "44"}',                 9500, 5,  true),
  ('00000000-0000-4000-8001-000000000008', '00000000-0000-4000-8000-000000000005', 'HOODIE-M',      '{"size": "M"}',                  null, 10, true),
  ('00000000-0000-4000-8001-000000000009', '00000000-0000-4000-8000-000000000005', 'HOODIE-XL',     '{"size": "XL"}',                 5400, 4,  true),
  ('00000000-0000-4000-8001-00000000000a', '00000000-0000-4000-8000-000000000005', 'HOODIE-XXL',    '{"size": "XXL"}',                5400, 7,  false);

-- Every purchase rule, so each can be tried from the storefront or curl (listed in the README).
insert into product (id, name, slug, image_url, price, currency, stock, max_per_order, active,
                     requires_auth, max_per_customer, exclusive_group) values
  -- sign-in only: a guest's add is 422 restricted (reason requires_auth)
  ('00000000-0000-4000-8000-000000000007', 'Members'' tote bag', 'members-tote-bag', '/img/members-tote-bag.webp', 1800, 'USD', 50, null, true, true, null, null),
  -- at most 2 per customer across its variants (422 restricted, reason max_per_customer)
  ('00000000-0000-4000-8000-000000000008', 'Limited sneakers', 'limited-sneakers', '/img/limited-sneakers.webp', 12000, 'USD', 0, null, true, false, 2, null),
  -- an exclusive pair: one plan per cart (409 incompatible)
  ('00000000-0000-4000-8000-000000000009', 'Monthly coffee plan', 'monthly-coffee-plan', '/img/monthly-coffee-plan.webp', 2900, 'USD', 1000, 1, true, false, null, 'coffee-plan'),
  ('00000000-0000-4000-8000-00000000000a', 'Yearly coffee plan', 'yearly-coffee-plan', '/img/yearly-coffee-plan.webp', 29900, 'USD', 1000, 1, true, false, null, 'coffee-plan');

insert into product_variant (id, product_id, sku, attributes, price, stock, active) values
  ('00000000-0000-4000-8001-00000000000b', '00000000-0000-4000-8000-000000000008', 'SNEAKER-41', '{"size": "41"}', null, 20, true),
  -- a low-stock variant: "Only 1 left"
  ('00000000-0000-4000-8001-00000000000c', '00000000-0000-4000-8000-000000000008', 'SNEAKER-45', '{"size": "45"}', null, 1, true);

-- Discount codes: a percentage, a fixed amount, one with a minimum subtotal, and an expired one.
insert into discount_code (code, kind, value, currency, min_subtotal, starts_at, ends_at) values
  ('WELCOME10', 'percent', 10, null, 0, null, null),
  ('FIVEOFF', 'fixed', 500, 'USD', 0, null, null),
  ('BIG20', 'percent', 20, null, 10000, null, null),
  ('EXPIRED', 'percent', 50, null, 0, now() - interval '30 days', now() - interval '1 day');
