-- Three tables are rebuilt so that a redemption or a publication commits
-- fewer pages (see engine's BenchmarkPagesWritten):
--
--   audit_log and redemptions lose AUTOINCREMENT. Their rows are never
--   deleted, so a plain INTEGER PRIMARY KEY (the largest plus one) never
--   gives an ID twice either, and an insert no longer rewrites the
--   sqlite_sequence page.
--   orders' source_id is unique through a partial index: an order without
--   one, as most are, no longer writes a NULL entry into an index.
--
-- Each table's rows are copied with their IDs, so this migration takes
-- time on a large store: about a second per few hundred thousand rows.
-- Nothing references these tables with a foreign key.

CREATE TABLE audit_log_new (
	id            INTEGER PRIMARY KEY,
	time          INTEGER NOT NULL,
	api_key_id    TEXT,
	action        TEXT NOT NULL,
	resource_type TEXT NOT NULL,
	resource_id   TEXT NOT NULL,
	campaign_id   TEXT,
	voucher_id    TEXT,
	details       TEXT
);
INSERT INTO audit_log_new (id, time, api_key_id, action, resource_type, resource_id, campaign_id, voucher_id, details)
	SELECT id, time, api_key_id, action, resource_type, resource_id, campaign_id, voucher_id, details FROM audit_log ORDER BY id;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_campaign ON audit_log (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX audit_log_voucher ON audit_log (voucher_id) WHERE voucher_id IS NOT NULL;
CREATE INDEX audit_log_campaign_resource ON audit_log (resource_id)
	WHERE resource_type = 'campaign' AND campaign_id IS NULL;
CREATE INDEX audit_log_voucher_resource ON audit_log (resource_id)
	WHERE resource_type = 'voucher' AND voucher_id IS NULL;

CREATE TABLE redemptions_new (
	seq           INTEGER PRIMARY KEY,
	id            TEXT NOT NULL UNIQUE,
	object        TEXT NOT NULL,
	parent_id     TEXT,
	redemption_id TEXT,
	rollback_id   TEXT,
	result        TEXT NOT NULL,
	status        TEXT NOT NULL,
	voucher_seq   INTEGER,
	campaign_id   TEXT,
	customer_id   TEXT,
	created_at    INTEGER NOT NULL,
	data          TEXT NOT NULL
);
INSERT INTO redemptions_new (seq, id, object, parent_id, redemption_id, rollback_id, result, status, voucher_seq,
		campaign_id, customer_id, created_at, data)
	SELECT seq, id, object, parent_id, redemption_id, rollback_id, result, status, voucher_seq,
		campaign_id, customer_id, created_at, data FROM redemptions ORDER BY seq;
DROP TABLE redemptions;
ALTER TABLE redemptions_new RENAME TO redemptions;
CREATE INDEX redemptions_campaign ON redemptions (campaign_id, seq) WHERE campaign_id IS NOT NULL;
CREATE INDEX redemptions_customer ON redemptions (customer_id, seq) WHERE customer_id IS NOT NULL;
CREATE INDEX redemptions_voucher ON redemptions (voucher_seq, seq) WHERE voucher_seq IS NOT NULL;
CREATE INDEX redemptions_parent ON redemptions (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE orders_new (
	id          TEXT PRIMARY KEY,
	source_id   TEXT,
	customer_id TEXT,
	status      TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER,
	data        TEXT NOT NULL
);
INSERT INTO orders_new (id, source_id, customer_id, status, created_at, updated_at, data)
	SELECT id, source_id, customer_id, status, created_at, updated_at, data FROM orders ORDER BY rowid;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE UNIQUE INDEX orders_source ON orders (source_id) WHERE source_id IS NOT NULL;
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_customer ON orders (customer_id, created_at) WHERE customer_id IS NOT NULL;
