-- The blocklist of customers and client IPs, and the flags the engine
-- raises about codes (leaks, canaries).
CREATE TABLE blocklist (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	value      TEXT NOT NULL,
	reason     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (kind, value)
);

CREATE TABLE flags (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT NOT NULL UNIQUE,
	kind       TEXT NOT NULL,
	voucher_id TEXT,
	created_at INTEGER NOT NULL,
	data       TEXT NOT NULL
);
CREATE INDEX flags_voucher ON flags (voucher_id, seq) WHERE voucher_id IS NOT NULL;
