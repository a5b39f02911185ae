-- bmctl schema, version 3: recurring proactive tasks (05f.01) and recovery
-- attempts (restore tests and real restores).

CREATE TABLE task_templates (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    -- JSON array of checklist items
    checklist    TEXT NOT NULL DEFAULT '[]',
    -- cron: `cadence` is a cron expression in the client's zone;
    -- after_completion: `cadence` is a number of days after the last completion;
    -- restore_test: each policy's restore-test cadence
    cadence_kind TEXT NOT NULL CHECK (cadence_kind IN ('cron', 'after_completion', 'restore_test')),
    cadence      TEXT NOT NULL DEFAULT '',
    scope        TEXT NOT NULL CHECK (scope IN ('client', 'ci', 'policy')),
    client_id    INTEGER REFERENCES clients (id),
    filter_tier  INTEGER CHECK (filter_tier BETWEEN 1 AND 3),
    filter_kind  TEXT,
    filter_tool  TEXT,
    due_offset_s INTEGER NOT NULL DEFAULT 0 CHECK (due_offset_s >= 0),
    lead_time_s  INTEGER NOT NULL DEFAULT 0 CHECK (lead_time_s >= 0),
    catch_up     TEXT NOT NULL DEFAULT 'latest' CHECK (catch_up IN ('latest', 'all')),
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at   INTEGER NOT NULL
) STRICT;

ALTER TABLE tickets ADD COLUMN template_id INTEGER REFERENCES task_templates (id);
ALTER TABLE tickets ADD COLUMN occurrence_at INTEGER;
ALTER TABLE tickets ADD COLUMN checklist TEXT;
ALTER TABLE tickets ADD COLUMN result TEXT CHECK (result IN ('ok', 'issues'));
ALTER TABLE tickets ADD COLUMN not_applicable INTEGER NOT NULL DEFAULT 0 CHECK (not_applicable IN (0, 1));

-- Each occurrence of a template for a scope item becomes one ticket, however
-- often, concurrently or late `tasks generate` runs.
CREATE UNIQUE INDEX tickets_task_occurrence
    ON tickets (template_id, client_id, coalesce(ci_id, 0), coalesce(policy_id, 0), occurrence_at)
    WHERE kind = 'task';

CREATE TABLE recovery_attempts (
    id                   INTEGER PRIMARY KEY,
    client_id            INTEGER NOT NULL REFERENCES clients (id),
    policy_id            INTEGER NOT NULL REFERENCES policies (id),
    kind                 TEXT NOT NULL CHECK (kind IN ('test', 'real')),
    outcome              TEXT NOT NULL CHECK (outcome IN ('success', 'partial', 'failed')),
    started_at           INTEGER NOT NULL,
    ended_at             INTEGER NOT NULL CHECK (ended_at >= started_at),
    rto_s                INTEGER NOT NULL,
    issues               TEXT,
    command              TEXT,
    verified             INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    task_ticket_id       INTEGER REFERENCES tickets (id),
    corrective_ticket_id INTEGER REFERENCES tickets (id),
    actor                TEXT NOT NULL,
    recorded_at          INTEGER NOT NULL
) STRICT;

CREATE INDEX recovery_attempts_policy ON recovery_attempts (policy_id, ended_at);
CREATE INDEX tickets_kind_due ON tickets (kind, due_at);
CREATE INDEX recovery_attempts_client ON recovery_attempts (client_id, ended_at);

-- The default templates mirror the process (05f.01). Created "at the epoch":
-- each scope item's own creation bounds its first occurrence.
INSERT INTO task_templates (name, title, description, checklist, cadence_kind, cadence, scope, due_offset_s, lead_time_s, catch_up, created_at) VALUES
 ('daily-status-review', 'Daily backup status review',
  'Review last night''s backups for this client: failures, warnings, missed and long-running jobs.',
  '["Review failed and missed jobs","Review warnings","Check long-running and hung jobs","Open corrective tickets for new problems"]',
  'cron', '0 8 * * 1-5', 'client', 4 * 3600, 0, 'latest', 0),
 ('weekly-warnings-capacity', 'Weekly warnings and capacity review',
  'Look at recurring warnings and at repository and target capacity.',
  '["Review recurring warnings","Check repository capacity and growth","Check offsite copy status"]',
  'cron', '0 9 * * 1', 'client', 8 * 3600, 0, 'latest', 0),
 ('monthly-coverage-audit', 'Monthly CMDB coverage audit',
  'Compare the CMDB with the backup plan: every active system protected or excluded with a reason.',
  '["List unprotected CIs","Confirm exclusions are still valid","Raise MACD requests for gaps"]',
  'cron', '0 9 1 * *', 'client', 5 * 86400, 86400, 'latest', 0),
 ('restore-test', 'Test restore',
  'Restore a sample of this job''s data to a scratch location and verify it.',
  '["Pick a sample (files or database)","Restore to a scratch location","Verify the restored data","Record the attempt (bmctl restore test|record)"]',
  'restore_test', '', 'policy', 7 * 86400, 3 * 86400, 'latest', 0),
 ('quarterly-plan-review', 'Quarterly backup-plan review',
  'Review the backup plan ahead of the quarterly service review: RPO/RTO, retention, offsite copies, risks.',
  '["Review plan against requirements","Review risks (bmctl plan risks)","Prepare QSR input (bmctl plan review)"]',
  'cron', '0 9 1 3,6,9,12 *', 'client', 14 * 86400, 7 * 86400, 'latest', 0);
