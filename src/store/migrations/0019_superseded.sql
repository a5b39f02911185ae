-- bmctl schema, version 19: late data supersedes. A `missed` event whose
-- window a late run filled is kept (it is what `check` saw) and marked with
-- the instant it was superseded; it is no longer counted. Runs still going
-- are recorded by their start (`running`), and the terminal record of the
-- same run (same policy and start) replaces them.

ALTER TABLE job_events ADD COLUMN superseded INTEGER;

CREATE TABLE running_runs (
    policy_id  INTEGER NOT NULL REFERENCES policies (id),
    client_id  INTEGER NOT NULL REFERENCES clients (id),
    started_at INTEGER NOT NULL,
    source_id  INTEGER NOT NULL REFERENCES event_sources (id),
    -- the window `check` closed as hung (its occurrence counted failed)
    hung_window INTEGER,
    PRIMARY KEY (policy_id, started_at)
) STRICT, WITHOUT ROWID;
