-- bmctl schema, version 17: each ticket's closures (resolved or skipped
-- until reopened), so that the backlog of a past period counts what was
-- open then, not what is open now (a ticket reopened later was counted as
-- open in a period in which it was resolved). Tickets closed now get their
-- closure; earlier closures of reopened tickets were not kept before, and
-- such a ticket counts as before for the periods they covered.

CREATE TABLE ticket_closures (
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    closed_at   INTEGER NOT NULL,
    reopened_at INTEGER,
    PRIMARY KEY (ticket_id, closed_at)
) STRICT, WITHOUT ROWID;

INSERT INTO ticket_closures (ticket_id, closed_at)
SELECT id, resolved_at FROM tickets
WHERE status IN ('resolved', 'skipped') AND resolved_at IS NOT NULL;
