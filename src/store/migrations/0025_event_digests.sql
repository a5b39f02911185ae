-- bmctl schema, version 25: what each client's events of a week must be
-- (a count and a hash sum, see store/digests.rs), so that `audit verify
-- --deep` finds an event row edited, added or removed outside bmctl. The
-- table's total goes into an audit row with every import batch.

CREATE TABLE event_digests (
    week      INTEGER NOT NULL, -- (UTC day + 3) / 7: Monday to Sunday
    client_id INTEGER NOT NULL,
    events    INTEGER NOT NULL,
    a         INTEGER NOT NULL,
    b         INTEGER NOT NULL,
    PRIMARY KEY (week, client_id)
) STRICT, WITHOUT ROWID;
