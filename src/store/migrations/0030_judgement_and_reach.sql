-- bmctl: rebuilds tables
-- bmctl schema, version 30 (#14): per-policy judgement (failures before a
-- ticket, warnings as success, the small-backup check and its size window),
-- match keys for Bacula and for tools' own job names, more tools, and the
-- ticket class `small`. Two CHECK lists grow, so `policies` and `tickets`
-- are rebuilt: the old table is renamed without rewriting the references to
-- it (legacy_alter_table; foreign keys are off while a migration that starts with the line
-- below runs, and checked before its commit), the new one takes its name.

PRAGMA legacy_alter_table = ON;
ALTER TABLE policies RENAME TO policies_v29;
CREATE TABLE policies (
    id                   INTEGER PRIMARY KEY,
    client_id            INTEGER NOT NULL REFERENCES clients (id),
    ci_id                INTEGER NOT NULL REFERENCES cis (id),
    job                  TEXT NOT NULL,
    tool                 TEXT NOT NULL CHECK (tool IN ('restic', 'borg', 'borgmatic', 'bacula', 'veeam', 'pbs', 'kopia', 'synology', 'wsb', 'other')),
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
    failures_before_ticket INTEGER NOT NULL DEFAULT 1 CHECK (failures_before_ticket BETWEEN 1 AND 100),
    warning_is_success   INTEGER NOT NULL DEFAULT 0 CHECK (warning_is_success IN (0, 1)),
    small_backup_pct     INTEGER NOT NULL DEFAULT 50 CHECK (small_backup_pct BETWEEN 0 AND 100),
    -- the newest successful runs' sizes (a cache of facts in job_events)
    sizes                TEXT,
    match_director       TEXT,
    match_bacula_job     TEXT,
    match_name           TEXT,
    UNIQUE (client_id, job)
) STRICT;

INSERT INTO policies (id, client_id, ci_id, job, tool, schedule, rpo_s, grace_s, retention,
    target, restore_test, rto_s, max_runtime_s, match_host, match_tags, status, revision,
    created_at, retired_at)
SELECT id, client_id, ci_id, job, tool, schedule, rpo_s, grace_s, retention,
    target, restore_test, rto_s, max_runtime_s, match_host, match_tags, status, revision,
    created_at, retired_at
FROM policies_v29;

DROP TABLE policies_v29;
CREATE INDEX policies_ci ON policies (ci_id);
CREATE INDEX policies_active ON policies (status, client_id);
CREATE TRIGGER policies_state AFTER INSERT ON policies
BEGIN
    INSERT INTO policy_state (policy_id) VALUES (new.id);
END;

ALTER TABLE tickets RENAME TO tickets_v29;
CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('task', 'corrective', 'incident')),
    -- the problem class of a corrective ticket or incident
    class            TEXT CHECK (class IN ('failed', 'missed', 'hung', 'rpo', 'warning', 'integrity', 'finding', 'restore', 'small')),
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
    linked_ticket_id INTEGER REFERENCES tickets (id),
    template_id      INTEGER REFERENCES task_templates (id),
    occurrence_at    INTEGER,
    checklist        TEXT,
    result           TEXT CHECK (result IN ('ok', 'issues')),
    not_applicable   INTEGER NOT NULL DEFAULT 0 CHECK (not_applicable IN (0, 1)),
    overdue_notified_at INTEGER,
    waiting_since    INTEGER,
    waiting_reason   TEXT,
    waited_s         INTEGER
) STRICT;

INSERT INTO tickets (id, kind, class, client_id, ci_id, policy_id, title, status, priority,
    assignee, opened_at, updated_at, due_at, started_at, resolved_at, occurrences, first_seen_at,
    last_seen_at, resolution, cause, auto_resolved_at, recovered_at, psa_ref, linked_ticket_id,
    template_id, occurrence_at, checklist, result, not_applicable, overdue_notified_at,
    waiting_since, waiting_reason, waited_s)
SELECT id, kind, class, client_id, ci_id, policy_id, title, status, priority,
    assignee, opened_at, updated_at, due_at, started_at, resolved_at, occurrences, first_seen_at,
    last_seen_at, resolution, cause, auto_resolved_at, recovered_at, psa_ref, linked_ticket_id,
    template_id, occurrence_at, checklist, result, not_applicable, overdue_notified_at,
    waiting_since, waiting_reason, waited_s
FROM tickets_v29;

DROP TABLE tickets_v29;
CREATE UNIQUE INDEX tickets_open_problem ON tickets (policy_id, class)
    WHERE status IN ('open', 'in_progress') AND kind IN ('corrective', 'incident') AND class <> 'finding';
CREATE INDEX tickets_policy_class ON tickets (policy_id, class, resolved_at);
CREATE INDEX tickets_open_due ON tickets (kind, due_at) WHERE status IN ('open', 'in_progress');
CREATE INDEX tickets_updated ON tickets (updated_at);
CREATE UNIQUE INDEX tickets_task_occurrence
    ON tickets (template_id, client_id, coalesce(ci_id, 0), coalesce(policy_id, 0), occurrence_at)
    WHERE kind = 'task';
CREATE INDEX tickets_kind_due ON tickets (kind, due_at);
CREATE INDEX tickets_client_opened ON tickets (client_id, kind, opened_at);
CREATE INDEX tickets_kind_opened ON tickets (kind, opened_at);
CREATE INDEX tickets_client_task_due ON tickets (client_id, due_at) WHERE kind = 'task';

PRAGMA legacy_alter_table = OFF;
