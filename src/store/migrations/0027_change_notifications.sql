-- bmctl schema, version 27: notifications of changes too (`hooks.on_change`,
-- a row per state change of a change request), beside the tickets'. A row
-- is about a ticket or about a change, never both.

CREATE TABLE hook_outbox_27 (
    id         INTEGER PRIMARY KEY,
    event      TEXT NOT NULL CHECK (event IN ('open', 'escalate', 'reopen', 'resolve', 'task_overdue', 'change')),
    ticket_id  INTEGER REFERENCES tickets (id),
    change_id  INTEGER REFERENCES changes (id),
    created_at INTEGER NOT NULL,
    payload    TEXT,
    claimed_at INTEGER,
    claimed_by TEXT,
    CHECK ((ticket_id IS NULL) <> (change_id IS NULL))
) STRICT;

INSERT INTO hook_outbox_27 (id, event, ticket_id, created_at, payload, claimed_at, claimed_by)
    SELECT id, event, ticket_id, created_at, payload, claimed_at, claimed_by FROM hook_outbox;
DROP TABLE hook_outbox;
ALTER TABLE hook_outbox_27 RENAME TO hook_outbox;
CREATE INDEX hook_outbox_ticket ON hook_outbox (ticket_id, id);
CREATE INDEX hook_outbox_change ON hook_outbox (change_id, id) WHERE change_id IS NOT NULL;
