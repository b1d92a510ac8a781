-- The name applications know a team by: set when an admin approves the team or its rename. A
-- SCIM client's rename of an approved team changes display_name only, until it is approved.
ALTER TABLE teams ADD COLUMN approved_name TEXT;
UPDATE teams SET approved_name = display_name WHERE status = 'approved';
