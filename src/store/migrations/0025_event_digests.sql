-- bmctl schema, version 25: what each client's events of a UTC day must be
-- (a count and a hash sum, see store/digests.rs), so that `audit verify
-- --deep` finds an event row edited, added or removed outside bmctl. The
-- table's total goes into an audit row with every import batch.

CREATE TABLE event_digests (
    day       INTEGER NOT NULL,
    client_id INTEGER NOT NULL,
    events    INTEGER NOT NULL,
    a         INTEGER NOT NULL,
    b         INTEGER NOT NULL,
    PRIMARY KEY (day, client_id)
) STRICT, WITHOUT ROWID;
