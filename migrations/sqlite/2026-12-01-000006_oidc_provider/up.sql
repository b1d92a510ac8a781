-- The OpenID Connect provider: signing keys, pending authorizations, codes, tokens and
-- logouts in progress. Every secret handed out (authorization ids, codes, tokens) is kept
-- only as its SHA-256 hash.

-- ID token signing keys. The newest unretired key signs; a retired key stays published in
-- the JWKS until the tokens it signed have expired.
CREATE TABLE oidc_keys (
    kid             TEXT PRIMARY KEY NOT NULL,
    alg             TEXT NOT NULL CHECK (alg IN ('RS256', 'ES256')),
    private_key_pem TEXT NOT NULL,
    public_jwk      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    retired_at      BIGINT
);

-- An authorization request waiting for the user's SAML sign-in.
CREATE TABLE oidc_authorizations (
    id_hash         TEXT PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oidc_apps (client_id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    state           TEXT,
    nonce           TEXT,
    code_challenge  TEXT,
    node_id         BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    sso_id          BIGINT NOT NULL REFERENCES sso_methods (sso_id) ON DELETE CASCADE,
    max_age         BIGINT,
    force_login     BOOLEAN NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX oidc_authorizations_expiry ON oidc_authorizations (expires_at);

-- Authorization codes: single use, short-lived, bound to the client, the redirect URI and
-- the PKCE challenge. A code's grant id names every token issued from it.
CREATE TABLE oidc_codes (
    code_hash       TEXT PRIMARY KEY NOT NULL,
    grant_id        TEXT NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oidc_apps (client_id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    nonce           TEXT,
    code_challenge  TEXT,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    node_id         BIGINT NOT NULL,
    sso_id          BIGINT,
    auth_time       BIGINT NOT NULL,
    grant_ends_at   BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);

-- Access and refresh tokens (opaque). A refresh token is replaced at every use; a grant ends
-- (every token of it revoked) when a code or a refresh token is used twice.
CREATE TABLE oidc_tokens (
    token_hash      TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id        TEXT NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oidc_apps (client_id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    node_id         BIGINT NOT NULL,
    sso_id          BIGINT,
    scope           TEXT NOT NULL,
    auth_time       BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX oidc_tokens_grant ON oidc_tokens (grant_id);
CREATE INDEX oidc_tokens_user ON oidc_tokens (user_id);
CREATE INDEX oidc_tokens_expiry ON oidc_tokens (expires_at);

-- An RP-initiated logout going through the IdP's single logout: where to send the browser
-- when the IdP answers.
CREATE TABLE oidc_logouts (
    id_hash         TEXT PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oidc_apps (client_id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    state           TEXT,
    expires_at      BIGINT NOT NULL
);

-- OIDC Core section 4 (third-party initiated login): where an application starts its own
-- sign-in, and the application an SSO method's IdP-initiated sign-ins go to (cleared when
-- the application is deleted).
ALTER TABLE oidc_apps ADD COLUMN initiate_login_uri TEXT;
ALTER TABLE sso_methods ADD COLUMN default_app_id TEXT;

-- When the IdP says it authenticated the user (the AuthnStatement's AuthnInstant): an ID
-- token's auth_time.
ALTER TABLE sessions ADD COLUMN authn_instant BIGINT;

-- A session made from an unsolicited response (IdP-initiated): before an application is told
-- who it is, the user confirms it (login CSRF), once.
ALTER TABLE sessions ADD COLUMN needs_confirmation BOOLEAN NOT NULL DEFAULT 0;
