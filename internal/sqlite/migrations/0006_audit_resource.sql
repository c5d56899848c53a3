-- Audit reads name a campaign or a voucher (see Audit), never a customer,
-- an order or another resource: resource_id is indexed for entries about
-- campaigns and vouchers only, one partial index each, whose condition the
-- reads repeat so that SQLite can use them. A redemption or a publication
-- by a new customer appends the customer's "created" entry, which so
-- writes no index page.
DROP INDEX audit_log_resource;
CREATE INDEX audit_log_campaign_resource ON audit_log (resource_id) WHERE resource_type = 'campaign';
CREATE INDEX audit_log_voucher_resource ON audit_log (resource_id) WHERE resource_type = 'voucher';
