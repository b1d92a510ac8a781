-- A method's sessions are ended together (its deletion, a new IdP metadata) and by NameID (the
-- IdP's single logout): found by this index rather than by reading every session.
CREATE INDEX sessions_sso ON sessions (sso_id, name_id);
