-- bmctl schema, version 12: fewer pages written per ingest batch.
--
-- A day's batch adds one rollup row per client. Keyed (client_id, day),
-- the 1,000 new rows of a day fell on ~800 different pages, each written to
-- the WAL and then to the database; keyed (day, client_id) they are
-- appended to a few pages, and the small (client_id, day) index keeps a
-- client's days one seek away.
--
-- `tickets_client_due` served only task queries (compliance per client,
-- a client's open tasks), yet every corrective ticket the ingest opens or
-- resolves added an entry on its client's page: ~600 pages per daily batch.
-- It now holds tasks only.

CREATE TABLE daily_rollups_by_day (
    client_id     INTEGER NOT NULL REFERENCES clients (id),
    day           INTEGER NOT NULL,
    runs          INTEGER NOT NULL DEFAULT 0,
    runs_success  INTEGER NOT NULL DEFAULT 0,
    runs_warning  INTEGER NOT NULL DEFAULT 0,
    runs_failed   INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    expected      INTEGER NOT NULL DEFAULT 0,
    occ_success   INTEGER NOT NULL DEFAULT 0,
    occ_warning   INTEGER NOT NULL DEFAULT 0,
    occ_failed    INTEGER NOT NULL DEFAULT 0,
    occ_missed    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, client_id)
) STRICT, WITHOUT ROWID;

INSERT INTO daily_rollups_by_day (client_id, day, runs, runs_success, runs_warning, runs_failed,
                                  bytes, expected, occ_success, occ_warning, occ_failed, occ_missed)
SELECT client_id, day, runs, runs_success, runs_warning, runs_failed,
       bytes, expected, occ_success, occ_warning, occ_failed, occ_missed
FROM daily_rollups ORDER BY day, client_id;

DROP TABLE daily_rollups;
ALTER TABLE daily_rollups_by_day RENAME TO daily_rollups;
CREATE INDEX daily_rollups_client ON daily_rollups (client_id, day);

DROP INDEX tickets_client_due;
CREATE INDEX tickets_client_task_due ON tickets (client_id, due_at) WHERE kind = 'task';
