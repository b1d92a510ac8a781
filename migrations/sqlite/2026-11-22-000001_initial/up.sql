-- idgate schema, SQLite flavour. Keep in step with migrations/postgres (same migration names).
-- Times are Unix epoch milliseconds (UTC) in BIGINT columns; JSON is TEXT.

CREATE TABLE nodes (
    id          BIGINT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX nodes_name_lower ON nodes (lower(name));

CREATE TABLE admins (
    id              TEXT PRIMARY KEY NOT NULL,
    username        TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_at      BIGINT NOT NULL,
    last_login_at   BIGINT
);
CREATE UNIQUE INDEX admins_username_lower ON admins (lower(username));

-- Instance-wide values (the one-time setup token's hash while no admin exists).
CREATE TABLE settings (
    key         TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE admin_sessions (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    admin_id    TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

CREATE TABLE sso_methods (
    sso_id              BIGINT PRIMARY KEY NOT NULL,
    node_id             BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    sp_entity_id        TEXT,
    sp_key_pem          TEXT NOT NULL,
    sp_cert_pem         TEXT NOT NULL,
    idp_entity_id       TEXT,
    idp_metadata_xml    TEXT,
    idp_sso_post_url    TEXT,
    idp_sso_redirect_url TEXT,
    idp_slo_url         TEXT,
    idp_certs_json      TEXT NOT NULL DEFAULT '[]',
    jit                 BOOLEAN NOT NULL DEFAULT 1,
    idp_initiated       BOOLEAN NOT NULL DEFAULT 1,
    clock_skew_secs     INTEGER NOT NULL DEFAULT 180,
    sign_requests       BOOLEAN NOT NULL DEFAULT 0,
    allow_sha1          BOOLEAN NOT NULL DEFAULT 0,
    require_signed      TEXT NOT NULL DEFAULT 'either',
    attr_email          TEXT,
    attr_first_name     TEXT,
    attr_last_name      TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX sso_methods_node ON sso_methods (node_id);

CREATE TABLE sso_domains (
    domain  TEXT PRIMARY KEY NOT NULL,
    sso_id  BIGINT NOT NULL REFERENCES sso_methods (sso_id) ON DELETE CASCADE
);
CREATE INDEX sso_domains_sso ON sso_domains (sso_id);

CREATE TABLE scim_methods (
    node_id             BIGINT PRIMARY KEY NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    token_hash          TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'pending',
    hard_delete         BOOLEAN NOT NULL DEFAULT 0,
    username_policy     TEXT NOT NULL DEFAULT 'accept',
    created_at          BIGINT NOT NULL,
    token_created_at    BIGINT NOT NULL,
    last_used_at        BIGINT
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY NOT NULL,
    node_id         BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    user_name       TEXT NOT NULL,
    external_id     TEXT,
    email           TEXT,
    given_name      TEXT,
    family_name     TEXT,
    display_name    TEXT,
    attributes      TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'active',
    provenance      TEXT NOT NULL,
    scim_visible    BOOLEAN NOT NULL DEFAULT 1,
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_node_user_name ON users (node_id, lower(user_name));
CREATE INDEX users_node_external_id ON users (node_id, external_id);
CREATE INDEX users_node_email ON users (node_id, lower(email));
CREATE INDEX users_node_display_name ON users (node_id, lower(display_name));
-- Paging walks this index alone (ids first, rows after).
CREATE INDEX users_node_order ON users (node_id, scim_visible, id);

CREATE TABLE teams (
    id              TEXT PRIMARY KEY NOT NULL,
    node_id         BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    display_name    TEXT NOT NULL,
    external_id     TEXT,
    status          TEXT NOT NULL DEFAULT 'pending',
    provenance      TEXT NOT NULL,
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX teams_node_display_name ON teams (node_id, lower(display_name));
CREATE INDEX teams_node_external_id ON teams (node_id, external_id);
CREATE INDEX teams_node_order ON teams (node_id, id);

CREATE TABLE memberships (
    team_id     TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    node_id     BIGINT,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    target      TEXT,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_node_id ON events (node_id, id);
CREATE INDEX events_kind ON events (kind, id);

CREATE TABLE sessions (
    id_hash         TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    node_id         BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    sso_id          BIGINT REFERENCES sso_methods (sso_id) ON DELETE SET NULL,
    name_id         TEXT,
    session_index   TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE authn_requests (
    id          TEXT PRIMARY KEY NOT NULL,
    sso_id      BIGINT NOT NULL REFERENCES sso_methods (sso_id) ON DELETE CASCADE,
    relay_state TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX authn_requests_expires ON authn_requests (expires_at);

CREATE TABLE seen_assertions (
    sso_id          BIGINT NOT NULL REFERENCES sso_methods (sso_id) ON DELETE CASCADE,
    assertion_id    TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (sso_id, assertion_id)
);
CREATE INDEX seen_assertions_expires ON seen_assertions (expires_at);
