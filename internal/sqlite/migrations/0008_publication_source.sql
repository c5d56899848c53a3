-- publications' source_id is unique through a partial index, as orders'
-- is since 0007: a publication without one, as most are, no longer writes
-- a NULL entry into an index. Rows keep their rowid (the lists' tie
-- breaker) and IDs.
--
-- publication_vouchers references publications, so it is rebuilt with it:
-- the new child references the new parent, the old child goes before the
-- old parent (so no reference is ever left dangling), and renaming the new
-- parent renames it in the new child's reference too.

CREATE TABLE publications_new (
	id          TEXT PRIMARY KEY,
	source_id   TEXT,
	campaign_id TEXT,
	customer_id TEXT,
	channel     TEXT,
	result      TEXT NOT NULL,
	metadata    TEXT,
	created_at  INTEGER NOT NULL
);
INSERT INTO publications_new (rowid, id, source_id, campaign_id, customer_id, channel, result, metadata, created_at)
	SELECT rowid, id, source_id, campaign_id, customer_id, channel, result, metadata, created_at FROM publications ORDER BY rowid;

CREATE TABLE publication_vouchers_new (
	publication_id TEXT NOT NULL REFERENCES publications_new (id),
	position       INTEGER NOT NULL,
	voucher_seq    INTEGER NOT NULL,
	PRIMARY KEY (publication_id, position)
) WITHOUT ROWID;
INSERT INTO publication_vouchers_new (publication_id, position, voucher_seq)
	SELECT publication_id, position, voucher_seq FROM publication_vouchers;

DROP TABLE publication_vouchers;
DROP TABLE publications;
ALTER TABLE publications_new RENAME TO publications;
ALTER TABLE publication_vouchers_new RENAME TO publication_vouchers;

CREATE UNIQUE INDEX publications_source ON publications (source_id) WHERE source_id IS NOT NULL;
CREATE INDEX publications_created ON publications (created_at);
CREATE INDEX publications_customer ON publications (customer_id, campaign_id, created_at);
CREATE INDEX publications_campaign ON publications (campaign_id, created_at) WHERE campaign_id IS NOT NULL;
CREATE INDEX publication_vouchers_voucher ON publication_vouchers (voucher_seq);
