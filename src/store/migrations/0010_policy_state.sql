-- bmctl schema, version 10: per-policy state in its own narrow table.
-- Ingest updates the state of every policy that ran, once per batch. In the
-- wide policies row (schedule, retention, match rules …) 10,000 updates
-- dirtied nearly every page of the table, and each dirty page is written to
-- the WAL: about 8 MB per batch at 50,000 policies. A state row is ~25
-- bytes, so the whole table is a few hundred pages and stays hot.

CREATE TABLE policy_state (
    policy_id            INTEGER PRIMARY KEY REFERENCES policies (id),
    last_event_at        INTEGER,
    last_success_at      INTEGER,
    last_status          TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    consecutive_warnings INTEGER NOT NULL DEFAULT 0,
    running_since        INTEGER,
    checked_until        INTEGER
) STRICT;

INSERT INTO policy_state (policy_id, last_event_at, last_success_at, last_status,
                          consecutive_failures, consecutive_warnings, running_since, checked_until)
SELECT id, last_event_at, last_success_at, last_status,
       consecutive_failures, consecutive_warnings, running_since, checked_until
FROM policies;

-- Every policy has exactly one state row from its creation on.
CREATE TRIGGER policies_state AFTER INSERT ON policies
BEGIN
    INSERT INTO policy_state (policy_id) VALUES (new.id);
END;

ALTER TABLE policies DROP COLUMN last_event_at;
ALTER TABLE policies DROP COLUMN last_success_at;
ALTER TABLE policies DROP COLUMN last_status;
ALTER TABLE policies DROP COLUMN consecutive_failures;
ALTER TABLE policies DROP COLUMN consecutive_warnings;
ALTER TABLE policies DROP COLUMN running_since;
ALTER TABLE policies DROP COLUMN checked_until;
