-- Audit reads name a campaign or a voucher (see auditWhere), never a
-- customer, an order or another resource: resource_id is indexed for
-- entries about campaigns and vouchers only, and only for those that do
-- not also name their campaign (voucher) in campaign_id (voucher_id), which
-- audit_log_campaign (audit_log_voucher) indexes already. One partial
-- index each, whose condition the reads repeat so that SQLite can use it.
-- A new customer's "created" entry, which a redemption or a publication by
-- a new customer appends, so writes no index page, and a publication's
-- "published" entry one less.
DROP INDEX audit_log_resource;
CREATE INDEX audit_log_campaign_resource ON audit_log (resource_id)
	WHERE resource_type = 'campaign' AND campaign_id IS NULL;
CREATE INDEX audit_log_voucher_resource ON audit_log (resource_id)
	WHERE resource_type = 'voucher' AND voucher_id IS NULL;
