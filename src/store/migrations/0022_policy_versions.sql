-- bmctl schema, version 22: what a policy expected, and since when. A
-- window is judged by the schedule, grace and max runtime in force at its
-- occurrence (a change of schedule does not re-judge the past); `kpi` and
-- `db check` read the versions. Existing policies start with their current
-- settings at their creation.

CREATE TABLE policy_versions (
    policy_id     INTEGER NOT NULL REFERENCES policies (id),
    since         INTEGER NOT NULL,
    schedule      TEXT NOT NULL,
    grace_s       INTEGER NOT NULL,
    max_runtime_s INTEGER,
    PRIMARY KEY (policy_id, since)
) STRICT, WITHOUT ROWID;

INSERT INTO policy_versions (policy_id, since, schedule, grace_s, max_runtime_s)
SELECT id, created_at, schedule, grace_s, max_runtime_s FROM policies;
