ALTER TABLE teams DROP COLUMN approved_name;
