-- The blocklist of customers and client IPs, and the flags the engine
-- raises about codes (leaks, canaries).
CREATE TABLE blocklist (
	id         text PRIMARY KEY,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	kind       text NOT NULL,
	value      text NOT NULL,
	reason     text NOT NULL,
	created_at bigint NOT NULL,
	CONSTRAINT blocklist_kind_value_key UNIQUE (kind, value)
);

CREATE TABLE flags (
	seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id         text NOT NULL UNIQUE,
	kind       text NOT NULL,
	voucher_id text,
	created_at bigint NOT NULL,
	data       jsonb NOT NULL
);
CREATE INDEX flags_voucher ON flags (voucher_id, seq) WHERE voucher_id IS NOT NULL;
