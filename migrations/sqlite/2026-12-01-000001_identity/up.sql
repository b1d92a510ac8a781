-- Identity keys: userNames, email addresses, team names and admin user names are compared
-- case-insensitively for ASCII letters only, through a key idgate computes and stores beside
-- the value (SQLite's own lower() folds ASCII letters only, so it computes the same key here).
ALTER TABLE users ADD COLUMN user_name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_key TEXT;
UPDATE users SET user_name_key = lower(user_name), email_key = lower(email);
DROP INDEX users_node_user_name;
DROP INDEX users_node_email;
CREATE UNIQUE INDEX users_node_user_name ON users (node_id, user_name_key);
CREATE INDEX users_node_email ON users (node_id, email_key);

ALTER TABLE teams ADD COLUMN display_name_key TEXT NOT NULL DEFAULT '';
UPDATE teams SET display_name_key = lower(display_name);
DROP INDEX teams_node_display_name;
CREATE UNIQUE INDEX teams_node_display_name ON teams (node_id, display_name_key);

ALTER TABLE admins ADD COLUMN username_key TEXT NOT NULL DEFAULT '';
UPDATE admins SET username_key = lower(username);
DROP INDEX admins_username_lower;
CREATE UNIQUE INDEX admins_username_key ON admins (username_key);

-- Identity links: the NameID an SSO method signed a user in with, made at the first sign-in
-- through that method and the account key of every later one. One account per NameID and one
-- NameID per account, per method.
CREATE TABLE identity_links (
    sso_id          BIGINT NOT NULL REFERENCES sso_methods (sso_id) ON DELETE CASCADE,
    name_id_key     TEXT NOT NULL,
    name_id         TEXT NOT NULL,
    name_id_format  TEXT,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    node_id         BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT NOT NULL,
    PRIMARY KEY (sso_id, name_id_key)
);
CREATE UNIQUE INDEX identity_links_sso_user ON identity_links (sso_id, user_id);
CREATE INDEX identity_links_user ON identity_links (user_id);
