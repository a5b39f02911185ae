-- bmctl schema, version 13: job events clustered by day, then client.
-- Keyed (client_id, xid), a batch of a day's runs of every client added
-- ~99 events at the end of each client's part of the B-tree, in the middle
-- of the table: each such insert split pages among neighbours, and a daily
-- batch of 99,000 events wrote ~5,800 event pages to the WAL (and again to
-- the database) for ~1,300 pages of data. Keyed (day, client_id, xid), a
-- day's runs are appended at the end of the table. A client's runs of a
-- period are one seek per day. `day` is the key's high 32 bits: the UTC day
-- the run ended.

CREATE TABLE job_events_v13 (
    day          INTEGER NOT NULL CHECK (day = xid >> 32),
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
    PRIMARY KEY (day, client_id, xid),
    CHECK ((policy_id IS NULL) <> (unmatched_id IS NULL))
) STRICT, WITHOUT ROWID;

INSERT INTO job_events_v13 (day, client_id, xid, policy_id, unmatched_id, operation, status,
    started_at, ended_at, bytes, files, source_id, xkind, ext_text, snapshot, message)
SELECT xid >> 32, client_id, xid, policy_id, unmatched_id, operation, status,
       started_at, ended_at, bytes, files, source_id, xkind, ext_text, snapshot, message
FROM job_events
ORDER BY xid >> 32, client_id, xid;

DROP TABLE job_events;
ALTER TABLE job_events_v13 RENAME TO job_events;
