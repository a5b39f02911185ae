-- bmctl schema, version 31 (#14 §2, §1): report e-mails, Bacula restores. Each message read is
-- remembered by its identity (Message-ID, else a SHA-256 of it), so a
-- mailbox read twice changes nothing; one no recognizer could place waits
-- in the intake queue for a person.

CREATE TABLE mail_seen (
    key        TEXT PRIMARY KEY,
    seen_at    INTEGER NOT NULL,
    -- what became of it: runs recorded, the intake, or a notice with no run
    outcome    TEXT NOT NULL CHECK (outcome IN ('events', 'intake', 'skipped')),
    recognizer TEXT
) STRICT, WITHOUT ROWID;

CREATE TABLE intake (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    received_at INTEGER NOT NULL,
    sender      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    sent_at     INTEGER,
    -- why no recognizer placed it
    reason      TEXT NOT NULL,
    -- what a recognizer read, when one did: the tool's job name (and a
    -- Bacula Director), for `intake map`
    recognizer  TEXT,
    job_name    TEXT,
    director    TEXT,
    client      TEXT,
    -- the message itself (capped), to read it again once mapped
    raw         BLOB NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'mapped', 'ignored')),
    closed_by   TEXT,
    closed_at   INTEGER,
    note        TEXT
) STRICT;
CREATE INDEX intake_open ON intake (state, received_at);

-- Bacula (#14 §1): a restore job names the JobIds it restored from; each
-- Bacula job seen is remembered by Director and JobId to find its policy.
-- A recovery attempt from a tool carries the tool's key, recorded once.
CREATE TABLE bacula_jobs (
    director TEXT NOT NULL,
    job_id   TEXT NOT NULL,
    job      TEXT NOT NULL,
    PRIMARY KEY (director, job_id)
) STRICT, WITHOUT ROWID;

ALTER TABLE recovery_attempts ADD COLUMN ext_id TEXT;
CREATE UNIQUE INDEX recovery_attempts_ext ON recovery_attempts (ext_id) WHERE ext_id IS NOT NULL;
