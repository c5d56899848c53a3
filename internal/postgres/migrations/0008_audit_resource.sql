-- Audit reads name a campaign or a voucher (see auditWhere), never a
-- customer, an order or another resource: resource_id is indexed for
-- entries about campaigns and vouchers only, and only for those that do
-- not also name their campaign (voucher) in campaign_id (voucher_id), which
-- audit_log_campaign (audit_log_voucher) indexes already. The reads repeat
-- the conditions of these partial indexes. A redemption or a publication
-- by a new customer appends the customer's "created" entry, which so adds
-- no index entry, and a publication's "published" entry one less.
DROP INDEX audit_log_resource;
CREATE INDEX audit_log_campaign_resource ON audit_log (resource_id)
	WHERE resource_type = 'campaign' AND campaign_id IS NULL;
CREATE INDEX audit_log_voucher_resource ON audit_log (resource_id)
	WHERE resource_type = 'voucher' AND voucher_id IS NULL;
