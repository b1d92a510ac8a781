ALTER TABLE sso_methods DROP COLUMN require_encryption;
