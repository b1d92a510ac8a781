-- Whether the method accepts only encrypted assertions (a plaintext one is refused).
ALTER TABLE sso_methods ADD COLUMN require_encryption BOOLEAN NOT NULL DEFAULT 0;
