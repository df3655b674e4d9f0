-- The identity an access token gave a participant (its `sub`), beside the account of a signed-in one.
ALTER TABLE participant_sessions ADD COLUMN identity TEXT;
