-- bmctl schema, version 6: backup changes (MACD, 05f.03–05f.06).

CREATE TABLE changes (
    id             INTEGER PRIMARY KEY,
    type           TEXT NOT NULL CHECK (type IN ('add', 'change', 'move', 'delete')),
    client_id      INTEGER NOT NULL REFERENCES clients (id),
    -- the job the change is about (for an add: the new job's name)
    job            TEXT NOT NULL,
    policy_id      INTEGER REFERENCES policies (id),
    -- delete --ci: every policy of this CI, and the CI itself
    ci_host        TEXT,
    -- the policy as it was when requested, and as it would be (JSON)
    current        TEXT,
    proposal       TEXT,
    -- an add onto a CI that is not in the CMDB yet: that CI, as TOML
    new_ci         TEXT,
    based_on       INTEGER,
    state          TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'rejected', 'implemented', 'completed', 'cancelled')),
    risk           TEXT NOT NULL CHECK (risk IN ('low', 'medium', 'high')),
    risk_reasons   TEXT NOT NULL DEFAULT '[]',
    reason         TEXT NOT NULL,
    ref            TEXT,
    requested_by   TEXT NOT NULL,
    requested_at   INTEGER NOT NULL,
    approved_by    TEXT,
    approved_at    INTEGER,
    decision       TEXT,
    implemented_by TEXT,
    implemented_at INTEGER,
    retain_until   INTEGER,
    dispose        INTEGER NOT NULL DEFAULT 0 CHECK (dispose IN (0, 1)),
    forced         TEXT,
    completed_by   TEXT,
    completed_at   INTEGER,
    verified_by    TEXT,
    plan_version   INTEGER,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX changes_client ON changes (client_id, state);
CREATE INDEX changes_state ON changes (state, requested_at);

CREATE TABLE change_log (
    id        INTEGER PRIMARY KEY,
    change_id INTEGER NOT NULL REFERENCES changes (id),
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    text      TEXT NOT NULL
) STRICT;

CREATE INDEX change_log_change ON change_log (change_id, at);
