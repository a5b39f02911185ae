-- bmctl schema, version 14: run identity. A run's key gains `xh`, 64 bits
-- of a SHA-256 of its job, source and whole id (or, without an id, its own
-- facts), so that runs of different jobs with the same id text, ids that
-- share 8 hex digits, and a retry in the same second are different runs.
-- Events stored before keep their legacy key with `xh` = 0; `meta`
-- remembers the newest end among them, and an import of a run that ended
-- by then also looks for its legacy key (a re-import of a pre-upgrade file
-- adds nothing).

CREATE TABLE job_events_v14 (
    day          INTEGER NOT NULL CHECK (day = xid >> 32),
    client_id    INTEGER NOT NULL REFERENCES clients (id),
    xid          INTEGER NOT NULL,
    xh           INTEGER NOT NULL,
    policy_id    INTEGER REFERENCES policies (id),
    unmatched_id INTEGER REFERENCES unmatched_jobs (id),
    operation    TEXT CHECK (operation IN ('check')),
    status       TEXT NOT NULL CHECK (status = 's' OR status = 'w' OR status = 'f' OR status = 'm'),
    started_at   INTEGER,
    ended_at     INTEGER NOT NULL,
    bytes        INTEGER CHECK (bytes >= 0),
    files        INTEGER CHECK (files >= 0),
    source_id    INTEGER NOT NULL REFERENCES event_sources (id),
    xkind        INTEGER NOT NULL,
    ext_text     TEXT,
    snapshot     TEXT,
    message      TEXT,
    PRIMARY KEY (day, client_id, xid, xh),
    CHECK ((policy_id IS NULL) <> (unmatched_id IS NULL))
) STRICT, WITHOUT ROWID;

INSERT INTO job_events_v14 (day, client_id, xid, xh, policy_id, unmatched_id, operation, status,
    started_at, ended_at, bytes, files, source_id, xkind, ext_text, snapshot, message)
SELECT day, client_id, xid, 0, policy_id, unmatched_id, operation, status,
       started_at, ended_at, bytes, files, source_id, xkind, ext_text, snapshot, message
FROM job_events
ORDER BY day, client_id, xid;

INSERT INTO meta (key, value)
SELECT 'legacy_keys_until', CAST(max(ended_at) AS TEXT) FROM job_events HAVING count(*) > 0;

DROP TABLE job_events;
ALTER TABLE job_events_v14 RENAME TO job_events;
