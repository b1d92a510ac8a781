DROP TABLE identity_links;

DROP INDEX admins_username_key;
CREATE UNIQUE INDEX admins_username_lower ON admins (lower(username));
ALTER TABLE admins DROP COLUMN username_key;

DROP INDEX teams_node_display_name;
CREATE UNIQUE INDEX teams_node_display_name ON teams (node_id, lower(display_name));
ALTER TABLE teams DROP COLUMN display_name_key;

DROP INDEX users_node_email;
DROP INDEX users_node_user_name;
CREATE UNIQUE INDEX users_node_user_name ON users (node_id, lower(user_name));
CREATE INDEX users_node_email ON users (node_id, lower(email));
ALTER TABLE users DROP COLUMN email_key;
ALTER TABLE users DROP COLUMN user_name_key;
