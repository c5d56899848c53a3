-- Promo's schema. Times are integer milliseconds since the Unix epoch (UTC).
-- Objects the store never filters on beyond a few columns keep the rest as
-- one JSON document in data.

-- seq is the campaign's number inside this file; vouchers point at it
-- instead of repeating a 25-byte ID in every row and index entry.
-- AUTOINCREMENT: a deleted campaign's seq is never given to another.
CREATE TABLE campaigns (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	id             TEXT NOT NULL UNIQUE,
	name           TEXT NOT NULL UNIQUE,
	campaign_type  TEXT NOT NULL,
	type           TEXT NOT NULL,
	active         INTEGER NOT NULL,
	vouchers_count INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER,
	data           TEXT NOT NULL
);

-- A tier's template is shared by every voucher of the tier.
CREATE TABLE tiers (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	campaign_seq INTEGER NOT NULL REFERENCES campaigns (seq) ON DELETE CASCADE,
	template     TEXT NOT NULL
);
CREATE INDEX tiers_campaign ON tiers (campaign_seq);

-- The voucher's ID is promo.VoucherID(seq). AUTOINCREMENT: a deleted
-- voucher's seq (and so its ID, which audit entries and publications name)
-- is never reused. Generated vouchers have a tier and a NULL template;
-- vouchers with their own template keep it as JSON. No foreign keys: a
-- million inserts would each look up their campaign and tier, which
-- InsertVouchers checks once per batch.
CREATE TABLE vouchers (
	seq               INTEGER PRIMARY KEY AUTOINCREMENT,
	key               TEXT NOT NULL UNIQUE,
	code              TEXT NOT NULL,
	campaign_seq      INTEGER,
	tier_id           INTEGER,
	case_sensitive    INTEGER NOT NULL DEFAULT 0,
	active            INTEGER NOT NULL DEFAULT 1,
	created_at        INTEGER NOT NULL,
	holder_id         TEXT,
	redeemed_quantity INTEGER NOT NULL DEFAULT 0,
	publish_count     INTEGER NOT NULL DEFAULT 0,
	updated_at        INTEGER,
	template          TEXT
);
-- (campaign_seq, seq): a campaign's vouchers in order, for lists, counts
-- and deletion. Entries arrive in ascending seq, so they append.
CREATE INDEX vouchers_campaign ON vouchers (campaign_seq);
-- The publication pool: TakeVoucher reads its first entry. Taken vouchers
-- leave it, so the lowest free seq is always at its front, however many
-- were taken before.
CREATE INDEX vouchers_pool ON vouchers (campaign_seq)
	WHERE holder_id IS NULL AND publish_count = 0 AND active = 1;
CREATE INDEX vouchers_holder ON vouchers (holder_id) WHERE holder_id IS NOT NULL;

CREATE TABLE customers (
	id         TEXT PRIMARY KEY,
	source_id  TEXT UNIQUE,
	email      TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER,
	data       TEXT NOT NULL
);
CREATE INDEX customers_created ON customers (created_at);
CREATE INDEX customers_email ON customers (email) WHERE email IS NOT NULL;

CREATE TABLE orders (
	id          TEXT PRIMARY KEY,
	source_id   TEXT UNIQUE,
	customer_id TEXT,
	status      TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER,
	data        TEXT NOT NULL
);
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_customer ON orders (customer_id, created_at) WHERE customer_id IS NOT NULL;

CREATE TABLE publications (
	id          TEXT PRIMARY KEY,
	source_id   TEXT UNIQUE,
	campaign_id TEXT,
	customer_id TEXT,
	channel     TEXT,
	result      TEXT NOT NULL,
	metadata    TEXT,
	created_at  INTEGER NOT NULL
);
CREATE INDEX publications_created ON publications (created_at);
CREATE INDEX publications_customer ON publications (customer_id, campaign_id, created_at);
CREATE INDEX publications_campaign ON publications (campaign_id, created_at) WHERE campaign_id IS NOT NULL;

CREATE TABLE publication_vouchers (
	publication_id TEXT NOT NULL REFERENCES publications (id),
	position       INTEGER NOT NULL,
	voucher_seq    INTEGER NOT NULL,
	PRIMARY KEY (publication_id, position)
) WITHOUT ROWID;
CREATE INDEX publication_vouchers_voucher ON publication_vouchers (voucher_seq);

CREATE TABLE async_actions (
	id              TEXT PRIMARY KEY,
	type            TEXT NOT NULL,
	status          TEXT NOT NULL,
	result          TEXT NOT NULL,
	progress        INTEGER NOT NULL,
	campaign_id     TEXT,
	request_id      TEXT,
	api_key_id      TEXT,
	params          BLOB,
	state           BLOB,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER,
	started_at      INTEGER,
	lease_until     INTEGER,
	processing_time INTEGER NOT NULL
);
CREATE INDEX async_actions_created ON async_actions (created_at);
-- The work queue: only actions a worker may still claim.
CREATE INDEX async_actions_open ON async_actions (created_at)
	WHERE status IN ('ENQUEUED', 'IN_PROGRESS');

-- Append-only, listed in id (append) order.
CREATE TABLE audit_log (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	time          INTEGER NOT NULL,
	api_key_id    TEXT,
	action        TEXT NOT NULL,
	resource_type TEXT NOT NULL,
	resource_id   TEXT NOT NULL,
	campaign_id   TEXT,
	voucher_id    TEXT,
	details       TEXT
);
CREATE INDEX audit_log_campaign ON audit_log (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX audit_log_voucher ON audit_log (voucher_id) WHERE voucher_id IS NOT NULL;
CREATE INDEX audit_log_resource ON audit_log (resource_id);

CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	token_hash BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);
