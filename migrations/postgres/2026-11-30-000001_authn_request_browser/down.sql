ALTER TABLE authn_requests DROP COLUMN browser_hash;
