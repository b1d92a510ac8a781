-- Applications: the OpenID Connect clients idgate signs people in to. A confidential client
-- proves itself with a secret kept only as its SHA-256 hash; a public client has none (and
-- proves itself with PKCE). Redirect URIs are JSON arrays of exact strings.
CREATE TABLE oidc_apps (
    client_id                   TEXT PRIMARY KEY NOT NULL,
    name                        TEXT NOT NULL,
    name_key                    TEXT NOT NULL,
    client_type                 TEXT NOT NULL CHECK (client_type IN ('public', 'confidential')),
    secret_hash                 TEXT,
    secret_created_at           BIGINT,
    redirect_uris               TEXT NOT NULL,
    post_logout_redirect_uris   TEXT NOT NULL DEFAULT '[]',
    all_nodes                   BOOLEAN NOT NULL DEFAULT 0,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    -- A confidential client always has a secret, a public one never: a lost hash must not
    -- turn a confidential client into one that needs no secret.
    CHECK ((client_type = 'public') = (secret_hash IS NULL))
);
CREATE UNIQUE INDEX oidc_apps_name_key ON oidc_apps (name_key);

-- The nodes whose users an application may sign in (unless it has all_nodes).
CREATE TABLE oidc_app_nodes (
    client_id   TEXT NOT NULL REFERENCES oidc_apps (client_id) ON DELETE CASCADE,
    node_id     BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    PRIMARY KEY (client_id, node_id)
);
CREATE INDEX oidc_app_nodes_node ON oidc_app_nodes (node_id);
