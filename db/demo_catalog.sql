-- Demo catalog for local development: loaded by `make dev` only when the catalog is empty.
-- Fixed ids so the README's curl examples and events/*.json work as written.
insert into product (id, name, slug, image_url, price, currency, stock, max_per_order, active) values
  ('00000000-0000-4000-8000-000000000001', 'Classic T-shirt', 'classic-t-shirt', '/img/tshirt.jpg', 1999, 'USD', 0, null, true),
  ('00000000-0000-4000-8000-000000000002', 'Running shoes', 'running-shoes', '/img/shoes.jpg', 8900, 'USD', 0, 4, true),
  ('00000000-0000-4000-8000-000000000003', 'Coffee mug', 'coffee-mug', '/img/mug.jpg', 1250, 'USD', 40, null, true),
  ('00000000-0000-4000-8000-000000000004', 'Art poster', 'art-poster', '/img/poster.jpg', 2500, 'USD', 3, null, true),
  ('00000000-0000-4000-8000-000000000005', 'Hoodie', 'hoodie', '/img/hoodie.jpg', 4900, 'USD', 0, null, true),
  ('00000000-0000-4000-8000-000000000006', 'Retired cap', 'retired-cap', '/img/cap.jpg', 1500, 'USD', 10, null, false);

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
