-- bmctl schema, version 4: maintenance windows (pauses) and the outbox of
-- ticket notifications for hooks.

CREATE TABLE pauses (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients (id),
    ci_id      INTEGER REFERENCES cis (id),
    policy_id  INTEGER REFERENCES policies (id),
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL CHECK (ends_at > starts_at),
    reason     TEXT NOT NULL,
    owner      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- set when the pause ended (early by `pause end`, or seen expired by `check`)
    closed_at  INTEGER,
    closed_by  TEXT
) STRICT;

CREATE INDEX pauses_client ON pauses (client_id, ends_at);

-- Written in the transaction that changes a ticket; delivered to the
-- configured hooks after the commit, so a hook can never undo a ticket and a
-- crash in between only delays the notification.
CREATE TABLE hook_outbox (
    id         INTEGER PRIMARY KEY,
    event      TEXT NOT NULL CHECK (event IN ('open', 'escalate', 'reopen', 'resolve', 'task_overdue')),
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    created_at INTEGER NOT NULL
) STRICT;

ALTER TABLE tickets ADD COLUMN overdue_notified_at INTEGER;
