-- Redemptions, their rollbacks (object 'redemption_rollback') and failed
-- redemptions, in one table: GET /v1/redemptions lists all three. The rest
-- of a redemption (its order, metadata, discount) is JSON in data.
CREATE TABLE redemptions (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	object       TEXT NOT NULL,
	parent_id    TEXT,
	redemption_id TEXT,
	rollback_id  TEXT,
	result       TEXT NOT NULL,
	status       TEXT NOT NULL,
	voucher_seq  INTEGER,
	campaign_id  TEXT,
	customer_id  TEXT,
	created_at   INTEGER NOT NULL,
	data         TEXT NOT NULL
);
CREATE INDEX redemptions_campaign ON redemptions (campaign_id, seq) WHERE campaign_id IS NOT NULL;
CREATE INDEX redemptions_customer ON redemptions (customer_id, seq) WHERE customer_id IS NOT NULL;
CREATE INDEX redemptions_voucher ON redemptions (voucher_seq, seq) WHERE voucher_seq IS NOT NULL;
CREATE INDEX redemptions_parent ON redemptions (parent_id) WHERE parent_id IS NOT NULL;

-- Counts, discounted amounts and order amounts of successful redemptions
-- per scope (a campaign, a campaign's customer ...) and UTC day; day 0 is
-- all time. Limit rules and budgets read them inside the redeeming
-- transaction.
CREATE TABLE redemption_counters (
	scope  TEXT NOT NULL,
	day    INTEGER NOT NULL,
	count  INTEGER NOT NULL,
	amount INTEGER NOT NULL,
	order_amount INTEGER NOT NULL,
	PRIMARY KEY (scope, day)
) WITHOUT ROWID;

-- Validation session locks.
CREATE TABLE sessions (
	voucher_seq INTEGER NOT NULL,
	key         TEXT NOT NULL,
	quantity    INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (voucher_seq, key)
) WITHOUT ROWID;

-- Attempts that did not redeem. Append-only, newest listed first.
CREATE TABLE attempts (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	result      TEXT NOT NULL,
	key         TEXT,
	customer_id TEXT,
	client_ip   TEXT,
	data        TEXT NOT NULL
);
CREATE INDEX attempts_key ON attempts (key, seq) WHERE key IS NOT NULL;
CREATE INDEX attempts_customer ON attempts (customer_id, seq) WHERE customer_id IS NOT NULL;
CREATE INDEX attempts_ip ON attempts (client_ip, seq) WHERE client_ip IS NOT NULL;

-- Outcomes of requests sent with an Idempotency-Key, per API key.
CREATE TABLE idempotency (
	api_key_id TEXT NOT NULL,
	key        TEXT NOT NULL,
	hash       TEXT NOT NULL,
	result     BLOB,
	error      TEXT,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (api_key_id, key)
) WITHOUT ROWID;

CREATE TABLE validation_rules (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	data       TEXT NOT NULL
);

CREATE TABLE rule_assignments (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT NOT NULL UNIQUE,
	rule_id    TEXT NOT NULL REFERENCES validation_rules (id) ON DELETE CASCADE,
	object_type TEXT NOT NULL,
	object_id  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (rule_id, object_id)
);
CREATE INDEX rule_assignments_object ON rule_assignments (object_id);
