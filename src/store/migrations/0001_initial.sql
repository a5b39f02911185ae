-- bmctl schema, version 1: clients, CMDB, policies, plan versions, job events
-- with per-policy state and a daily rollup, and the audit log.
-- Instants are integer Unix seconds (UTC) everywhere.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE clients (
    id                 INTEGER PRIMARY KEY,
    code               TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    timezone           TEXT NOT NULL,
    sla_tier           TEXT NOT NULL CHECK (sla_tier IN ('bronze', 'silver', 'gold', 'platinum')),
    required_retention TEXT,
    require_offsite    INTEGER NOT NULL DEFAULT 0 CHECK (require_offsite IN (0, 1)),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

CREATE TABLE cis (
    id              INTEGER PRIMARY KEY,
    client_id       INTEGER NOT NULL REFERENCES clients (id),
    host            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('server', 'vm', 'workstation', 'laptop', 'database', 'saas', 'nas', 'network', 'other')),
    tier            INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 3),
    os              TEXT,
    role            TEXT,
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    excluded        TEXT,
    last_change_ref TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (client_id, host)
) STRICT;

CREATE TABLE policies (
    id                   INTEGER PRIMARY KEY,
    client_id            INTEGER NOT NULL REFERENCES clients (id),
    ci_id                INTEGER NOT NULL REFERENCES cis (id),
    job                  TEXT NOT NULL,
    tool                 TEXT NOT NULL CHECK (tool IN ('restic', 'borg', 'veeam', 'other')),
    schedule             TEXT NOT NULL,
    rpo_s                INTEGER NOT NULL CHECK (rpo_s > 0),
    grace_s              INTEGER NOT NULL CHECK (grace_s > 0),
    retention            TEXT NOT NULL,
    target               TEXT NOT NULL CHECK (target IN ('local', 'offsite', 'cloud', 'immutable')),
    restore_test         TEXT NOT NULL CHECK (restore_test IN ('weekly', 'monthly', 'quarterly', 'semiannual', 'yearly', 'never')),
    rto_s                INTEGER NOT NULL CHECK (rto_s > 0),
    max_runtime_s        INTEGER,
    match_host           TEXT,
    match_tags           TEXT,
    status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    revision             INTEGER NOT NULL DEFAULT 1,
    created_at           INTEGER NOT NULL,
    retired_at           INTEGER,
    -- per-policy state, updated once per ingest batch (DESIGN: Scale)
    last_event_at        INTEGER,
    last_success_at      INTEGER,
    last_status          TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    consecutive_warnings INTEGER NOT NULL DEFAULT 0,
    running_since        INTEGER,
    checked_until        INTEGER,
    UNIQUE (client_id, job)
) STRICT;

CREATE INDEX policies_ci ON policies (ci_id);
CREATE INDEX policies_active ON policies (status, client_id);

CREATE TABLE plan_versions (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients (id),
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    content    TEXT NOT NULL,
    UNIQUE (client_id, version)
) STRICT;

-- Jobs reported by a tool that the plan does not know: a finding.
CREATE TABLE unmatched_jobs (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients (id),
    job        TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    UNIQUE (client_id, job)
) STRICT;

-- Where events come from ('restic', 'borg', 'check', 'import', ...): an
-- event row carries the small id.
CREATE TABLE event_sources (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
) STRICT;

-- One run as a tool reported it. Sized for tens of millions of rows:
-- short status codes (s success, w warning, f failed, m missed), integer
-- times and sources. `xid` is the idempotency key: the UTC day of the run
-- (days since 1970) in the high 32 bits and, in the low 32, the tool's id
-- (restic's short id; the first 8 hex digits of a longer hex id) or a hash of
-- the text id or of source + job + time. Keys therefore grow with time and
-- inserts append to the index. `xkind` says how to print the id back:
-- 0 none, 8 eight hex digits, -1 a text id kept in `ext_text`.
CREATE TABLE job_events (
    id           INTEGER PRIMARY KEY,
    client_id    INTEGER NOT NULL REFERENCES clients (id),
    policy_id    INTEGER REFERENCES policies (id),
    unmatched_id INTEGER REFERENCES unmatched_jobs (id),
    operation    TEXT CHECK (operation IN ('check')),
    status       TEXT NOT NULL CHECK (status IN ('s', 'w', 'f', 'm')),
    started_at   INTEGER,
    ended_at     INTEGER NOT NULL,
    bytes        INTEGER CHECK (bytes >= 0),
    files        INTEGER CHECK (files >= 0),
    source_id    INTEGER NOT NULL REFERENCES event_sources (id),
    xid          INTEGER NOT NULL,
    xkind        INTEGER NOT NULL,
    ext_text     TEXT,
    snapshot     TEXT,
    message      TEXT,
    CHECK ((policy_id IS NULL) <> (unmatched_id IS NULL))
) STRICT;

CREATE UNIQUE INDEX job_events_key ON job_events (client_id, xid);
CREATE INDEX job_events_client_time ON job_events (client_id, ended_at, status);

-- Per client and local day (days since 1970-01-01 in the client's zone):
-- runs as reported and occurrence outcomes as windows close.
CREATE TABLE daily_rollups (
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
    PRIMARY KEY (client_id, day)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    command     TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before      TEXT,
    after       TEXT
) STRICT;

CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);
CREATE INDEX audit_log_at ON audit_log (at);
