-- Promo's schema on PostgreSQL. It mirrors the SQLite schema: times are
-- bigint milliseconds since the Unix epoch (UTC), IDs are the same, and the
-- fields the store never filters on are one JSON document in data. Keys
-- and scopes compare bytewise (COLLATE "C"): they are ASCII, and strcoll
-- would cost every insert into their indexes.

-- seq is the campaign's number in this database; vouchers point at it.
-- Identity columns come from sequences, which never give a value twice.
CREATE TABLE campaigns (
	seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id             text NOT NULL UNIQUE,
	name           text NOT NULL UNIQUE,
	campaign_type  text NOT NULL,
	type           text NOT NULL,
	active         boolean NOT NULL,
	vouchers_count bigint NOT NULL DEFAULT 0,
	created_at     bigint NOT NULL,
	updated_at     bigint,
	data           jsonb NOT NULL
);
CREATE INDEX campaigns_created ON campaigns (created_at, seq);

-- A tier's template is shared by every voucher of the tier.
CREATE TABLE tiers (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	campaign_seq bigint NOT NULL REFERENCES campaigns (seq) ON DELETE CASCADE,
	template     jsonb NOT NULL
);
CREATE INDEX tiers_campaign ON tiers (campaign_seq);

-- The voucher's ID is promo.VoucherID(seq). COPY cannot return what a
-- default gave, so InsertVouchers reserves seqs itself, in blocks: value b
-- of voucher_seq_blocks is seqs (b-1)*1024+1 to b*1024, one nextval for
-- 1024 vouchers. Generated vouchers have a tier and a NULL template. No
-- foreign keys: InsertVouchers checks the batch's campaign and tier once.
CREATE SEQUENCE voucher_seq_blocks;
CREATE TABLE vouchers (
	seq               bigint PRIMARY KEY,
	key               text COLLATE "C" NOT NULL UNIQUE,
	code              text NOT NULL,
	campaign_seq      bigint,
	tier_id           bigint,
	case_sensitive    boolean NOT NULL DEFAULT false,
	active            boolean NOT NULL DEFAULT true,
	created_at        bigint NOT NULL,
	holder_id         text,
	redeemed_quantity bigint NOT NULL DEFAULT 0,
	publish_count     bigint NOT NULL DEFAULT 0,
	updated_at        bigint,
	template          jsonb
);
-- A campaign's vouchers in seq order, in two partial indexes that
-- together hold every voucher once: those in the publication pool, whose
-- front TakeVoucher reads, and the others. Lists of a campaign merge the
-- two. A generated voucher enters only the pool's, so generation maintains
-- three indexes (seq, key, pool), not four: each costs about as much as
-- the COPY of the row itself.
CREATE INDEX vouchers_pool ON vouchers (campaign_seq, seq)
	WHERE holder_id IS NULL AND publish_count = 0 AND active;
CREATE INDEX vouchers_out_of_pool ON vouchers (campaign_seq, seq)
	WHERE NOT (holder_id IS NULL AND publish_count = 0 AND active);
CREATE INDEX vouchers_holder ON vouchers (holder_id) WHERE holder_id IS NOT NULL;

-- seq (here and below) only orders rows created in the same millisecond,
-- as SQLite's rowid does.
CREATE TABLE customers (
	id         text PRIMARY KEY,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	source_id  text UNIQUE,
	email      text,
	created_at bigint NOT NULL,
	updated_at bigint,
	data       jsonb NOT NULL
);
CREATE INDEX customers_created ON customers (created_at, seq);
CREATE INDEX customers_email ON customers (email) WHERE email IS NOT NULL;

CREATE TABLE orders (
	id          text PRIMARY KEY,
	seq         bigint GENERATED ALWAYS AS IDENTITY,
	source_id   text UNIQUE,
	customer_id text,
	status      text NOT NULL,
	created_at  bigint NOT NULL,
	updated_at  bigint,
	data        jsonb NOT NULL
);
CREATE INDEX orders_created ON orders (created_at, seq);
CREATE INDEX orders_customer ON orders (customer_id, created_at) WHERE customer_id IS NOT NULL;

CREATE TABLE publications (
	id          text PRIMARY KEY,
	seq         bigint GENERATED ALWAYS AS IDENTITY,
	source_id   text UNIQUE,
	campaign_id text,
	customer_id text,
	channel     text,
	result      text NOT NULL,
	metadata    jsonb,
	created_at  bigint NOT NULL
);
CREATE INDEX publications_created ON publications (created_at, seq);
CREATE INDEX publications_customer ON publications (customer_id, campaign_id, created_at);
CREATE INDEX publications_campaign ON publications (campaign_id, created_at) WHERE campaign_id IS NOT NULL;

CREATE TABLE publication_vouchers (
	publication_id text NOT NULL REFERENCES publications (id),
	position       integer NOT NULL,
	voucher_seq    bigint NOT NULL,
	PRIMARY KEY (publication_id, position)
);
CREATE INDEX publication_vouchers_voucher ON publication_vouchers (voucher_seq);

-- params and state are kept byte for byte: bytea, not jsonb.
CREATE TABLE async_actions (
	id              text PRIMARY KEY,
	seq             bigint GENERATED ALWAYS AS IDENTITY,
	type            text NOT NULL,
	status          text NOT NULL,
	result          jsonb NOT NULL,
	progress        integer NOT NULL,
	campaign_id     text,
	request_id      text,
	api_key_id      text,
	params          bytea,
	state           bytea,
	created_at      bigint NOT NULL,
	updated_at      bigint,
	started_at      bigint,
	lease_until     bigint,
	processing_time bigint NOT NULL
);
CREATE INDEX async_actions_created ON async_actions (created_at, seq);
-- The work queue: only actions a worker may still claim.
CREATE INDEX async_actions_open ON async_actions (created_at, seq)
	WHERE status IN ('ENQUEUED', 'IN_PROGRESS');

-- Append-only, listed in id (append) order.
CREATE TABLE audit_log (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time          bigint NOT NULL,
	api_key_id    text,
	action        text NOT NULL,
	resource_type text NOT NULL,
	resource_id   text NOT NULL,
	campaign_id   text,
	voucher_id    text,
	details       jsonb
);
CREATE INDEX audit_log_campaign ON audit_log (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX audit_log_voucher ON audit_log (voucher_id) WHERE voucher_id IS NOT NULL;
CREATE INDEX audit_log_resource ON audit_log (resource_id);

CREATE TABLE api_keys (
	id         text PRIMARY KEY,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	name       text NOT NULL,
	token_hash bytea NOT NULL,
	created_at bigint NOT NULL,
	revoked_at bigint
);

-- Redemptions, their rollbacks and failed redemptions, in one table.
CREATE TABLE redemptions (
	seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id            text NOT NULL UNIQUE,
	object        text NOT NULL,
	parent_id     text,
	redemption_id text,
	rollback_id   text,
	result        text NOT NULL,
	status        text NOT NULL,
	voucher_seq   bigint,
	campaign_id   text,
	customer_id   text,
	created_at    bigint NOT NULL,
	data          jsonb NOT NULL
);
CREATE INDEX redemptions_campaign ON redemptions (campaign_id, seq) WHERE campaign_id IS NOT NULL;
CREATE INDEX redemptions_customer ON redemptions (customer_id, seq) WHERE customer_id IS NOT NULL;
CREATE INDEX redemptions_voucher ON redemptions (voucher_seq, seq) WHERE voucher_seq IS NOT NULL;
CREATE INDEX redemptions_parent ON redemptions (parent_id) WHERE parent_id IS NOT NULL;

-- Redemption counters per scope and UTC day (day 0: all time) live in two
-- tables. AddCounters only ever inserts into counter_deltas, one row per
-- scope, so concurrent redemptions of one campaign never write the same
-- row; a counter is the sum of its scope's rows in both tables. The store's
-- compactor moves deltas into counter_totals, adding each to its day's row
-- and to the all-time row, in one statement that keeps every sum as it
-- was. A delta of day 0 counts for all time only.
CREATE TABLE counter_deltas (
	scope        text COLLATE "C" NOT NULL,
	day          bigint NOT NULL,
	count        bigint NOT NULL,
	amount       bigint NOT NULL,
	order_amount bigint NOT NULL
);
CREATE INDEX counter_deltas_scope ON counter_deltas (scope, day);

CREATE TABLE counter_totals (
	scope        text COLLATE "C" NOT NULL,
	day          bigint NOT NULL,
	count        bigint NOT NULL,
	amount       bigint NOT NULL,
	order_amount bigint NOT NULL,
	PRIMARY KEY (scope, day)
);

-- Validation session locks.
CREATE TABLE sessions (
	voucher_seq bigint NOT NULL,
	key         text NOT NULL,
	quantity    bigint NOT NULL,
	expires_at  bigint NOT NULL,
	created_at  bigint NOT NULL,
	PRIMARY KEY (voucher_seq, key)
);

-- Attempts that did not redeem. Append-only, newest listed first.
CREATE TABLE attempts (
	seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id          text NOT NULL,
	created_at  bigint NOT NULL,
	kind        text NOT NULL,
	result      text NOT NULL,
	key         text,
	customer_id text,
	client_ip   text,
	data        jsonb NOT NULL
);
CREATE INDEX attempts_key ON attempts (key, seq) WHERE key IS NOT NULL;
CREATE INDEX attempts_customer ON attempts (customer_id, seq) WHERE customer_id IS NOT NULL;
CREATE INDEX attempts_ip ON attempts (client_ip, seq) WHERE client_ip IS NOT NULL;

-- Outcomes of requests sent with an Idempotency-Key, per API key. result
-- is the response body byte for byte.
CREATE TABLE idempotency (
	api_key_id text NOT NULL,
	key        text NOT NULL,
	hash       text NOT NULL,
	result     bytea,
	error      jsonb,
	created_at bigint NOT NULL,
	PRIMARY KEY (api_key_id, key)
);

CREATE TABLE validation_rules (
	seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id         text NOT NULL UNIQUE,
	created_at bigint NOT NULL,
	data       jsonb NOT NULL
);

CREATE TABLE rule_assignments (
	seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id          text NOT NULL UNIQUE,
	rule_id     text NOT NULL REFERENCES validation_rules (id) ON DELETE CASCADE,
	object_type text NOT NULL,
	object_id   text NOT NULL,
	created_at  bigint NOT NULL,
	UNIQUE (rule_id, object_id)
);
CREATE INDEX rule_assignments_object ON rule_assignments (object_id);
