-- Meetings are named in the API by an unguessable id, never by their sequential row id.
ALTER TABLE meetings ADD COLUMN public_id TEXT;
UPDATE meetings SET public_id = substr(replace(gen_random_uuid()::text, '-', ''), 1, 24)
    WHERE public_id IS NULL;
CREATE UNIQUE INDEX meetings_public_id_key ON meetings (public_id);
