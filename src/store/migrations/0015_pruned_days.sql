-- bmctl schema, version 15: what `db prune` removed, per client and UTC
-- day, so that a re-import of pruned runs does not count them again (the
-- rollups kept their counts). `meta.pruned_before` holds the newest bound.

CREATE TABLE pruned_days (
    client_id INTEGER NOT NULL REFERENCES clients (id),
    day       INTEGER NOT NULL,
    events    INTEGER NOT NULL CHECK (events > 0),
    PRIMARY KEY (client_id, day)
) STRICT, WITHOUT ROWID;
