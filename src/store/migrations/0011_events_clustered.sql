-- bmctl schema, version 11: job events clustered by client and time.
-- Until version 10 an event was a rowid row plus two indexes, (client_id,
-- xid) for idempotency and (client_id, ended_at, status) for time ranges:
-- about 95 bytes per event, and three B-trees for every insert. Now the
-- idempotency key is the table's primary key and the table itself is stored
-- in key order (WITHOUT ROWID), and the key's high 32 bits are the UTC day
-- of the run's *end* (it was the day of its start), so every time range of
-- `ended_at` is a key range: one B-tree, about 55 bytes per event, and a
-- client's runs of a period sit side by side on disk.
--
-- The rowid is gone: nothing referred to an event by it.
-- Existing keys are moved to the day of their end. Two stored runs of one
-- client whose tool ids share their first 8 hex digits and that ended on
-- the same day are one run under the new key (as ingest already treats
-- them); the later copy is dropped.

CREATE TABLE job_events_v11 (
    client_id    INTEGER NOT NULL REFERENCES clients (id),
    xid          INTEGER NOT NULL,
    policy_id    INTEGER REFERENCES policies (id),
    unmatched_id INTEGER REFERENCES unmatched_jobs (id),
    operation    TEXT CHECK (operation IN ('check')),
    -- comparisons, not IN (…): an IN list in a CHECK builds a temporary
    -- B-tree for every insert (about a third of the cost of a bare insert)
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
    PRIMARY KEY (client_id, xid),
    CHECK ((policy_id IS NULL) <> (unmatched_id IS NULL))
) STRICT, WITHOUT ROWID;

INSERT OR IGNORE INTO job_events_v11 (client_id, xid, policy_id, unmatched_id, operation, status,
    started_at, ended_at, bytes, files, source_id, xkind, ext_text, snapshot, message)
SELECT client_id,
       ((ended_at - ((ended_at % 86400) + 86400) % 86400) / 86400) << 32 | (xid & 4294967295),
       policy_id, unmatched_id, operation, status, started_at, ended_at, bytes, files,
       source_id, xkind, ext_text, snapshot, message
FROM job_events
ORDER BY client_id, id;

DROP TABLE job_events;
ALTER TABLE job_events_v11 RENAME TO job_events;
