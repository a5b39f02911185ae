-- bmctl schema, version 2: tickets (tasks, corrective tickets, incidents)
-- and their work log.

CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('task', 'corrective', 'incident')),
    -- the problem class of a corrective ticket or incident
    class            TEXT CHECK (class IN ('failed', 'missed', 'hung', 'rpo', 'warning', 'integrity', 'finding', 'restore')),
    client_id        INTEGER NOT NULL REFERENCES clients (id),
    ci_id            INTEGER REFERENCES cis (id),
    policy_id        INTEGER REFERENCES policies (id),
    title            TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'resolved', 'skipped')),
    priority         INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    assignee         TEXT,
    opened_at        INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    due_at           INTEGER,
    started_at       INTEGER,
    resolved_at      INTEGER,
    occurrences      INTEGER NOT NULL DEFAULT 1,
    first_seen_at    INTEGER,
    last_seen_at     INTEGER,
    resolution       TEXT,
    cause            TEXT,
    auto_resolved_at INTEGER,
    recovered_at     INTEGER,
    psa_ref          TEXT,
    linked_ticket_id INTEGER REFERENCES tickets (id)
) STRICT;

-- One open ticket per policy and problem class: the dedup rule of 05f.02
-- (findings raised by hand are not deduplicated).
CREATE UNIQUE INDEX tickets_open_problem ON tickets (policy_id, class)
    WHERE status IN ('open', 'in_progress') AND kind IN ('corrective', 'incident') AND class <> 'finding';
CREATE INDEX tickets_policy_class ON tickets (policy_id, class, resolved_at);
CREATE INDEX tickets_open_due ON tickets (kind, due_at) WHERE status IN ('open', 'in_progress');
CREATE INDEX tickets_client_due ON tickets (client_id, kind, due_at);
CREATE INDEX tickets_updated ON tickets (updated_at);

CREATE TABLE ticket_notes (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('note', 'status', 'event', 'system')),
    text      TEXT NOT NULL
) STRICT;

CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id, at);
