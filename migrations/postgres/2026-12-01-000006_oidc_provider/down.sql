ALTER TABLE sessions DROP COLUMN needs_confirmation;
ALTER TABLE sessions DROP COLUMN authn_instant;
ALTER TABLE sso_methods DROP COLUMN default_app_id;
ALTER TABLE oidc_apps DROP COLUMN initiate_login_uri;
DROP TABLE oidc_logouts;
DROP TABLE oidc_tokens;
DROP TABLE oidc_codes;
DROP TABLE oidc_authorizations;
DROP TABLE oidc_keys;
