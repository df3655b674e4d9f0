-- What a host set during a meeting that must outlive the process running it (a restart, or in a
-- cluster the node's death): the sources each participant's session is host-muted on (a JSON
-- array, e.g. ["microphone"]). The meeting's lock and lobby go in `meetings.settings_json`.
ALTER TABLE participant_sessions ADD COLUMN host_muted TEXT NOT NULL DEFAULT '[]';
