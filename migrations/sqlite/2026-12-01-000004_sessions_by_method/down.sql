DROP INDEX sessions_sso;
