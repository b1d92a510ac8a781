-- The browser that started an SP-initiated sign-in (hash of its cookie), so that only it can finish it.
ALTER TABLE authn_requests ADD COLUMN browser_hash TEXT;
