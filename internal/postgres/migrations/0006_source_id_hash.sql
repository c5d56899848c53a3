-- A redemption or a publication looks up its customer, order or
-- publication by source_id and creates it when it is not there. SSI locks
-- the index page where an absent key would be, and source_ids tend to be
-- sequential (cust-1041, cust-1042 ...), so concurrent creations of new
-- ones would all read and write one page and fail one another. Ordered by
-- a hash of the source_id first, they spread over the index; the index is
-- unique all the same, as equal source_ids have equal hashes. Lookups
-- name the hash (sourceIDIs). Rows without a source_id, such as most
-- orders, are left out of the index.
ALTER TABLE customers DROP CONSTRAINT customers_source_id_key;
CREATE UNIQUE INDEX customers_source_id_key ON customers ((hashtext(source_id)), source_id)
	WHERE source_id IS NOT NULL;
ALTER TABLE orders DROP CONSTRAINT orders_source_id_key;
CREATE UNIQUE INDEX orders_source_id_key ON orders ((hashtext(source_id)), source_id)
	WHERE source_id IS NOT NULL;
ALTER TABLE publications DROP CONSTRAINT publications_source_id_key;
CREATE UNIQUE INDEX publications_source_id_key ON publications ((hashtext(source_id)), source_id)
	WHERE source_id IS NOT NULL;
