-- bmctl schema, version 20: audited exclusions. A past occurrence may be
-- taken out of the incident rate only by an exclusion a person records
-- with a reason (`events exclude`); the review lists them. What the window's
-- outcome was is kept.

CREATE TABLE exclusions (
    id            INTEGER PRIMARY KEY,
    policy_id     INTEGER NOT NULL REFERENCES policies (id),
    client_id     INTEGER NOT NULL REFERENCES clients (id),
    occurrence_at INTEGER NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('success', 'warning', 'failed', 'missed')),
    reason        TEXT NOT NULL,
    ref           TEXT,
    actor         TEXT NOT NULL,
    at            INTEGER NOT NULL,
    UNIQUE (policy_id, occurrence_at)
) STRICT;

CREATE INDEX exclusions_client ON exclusions (client_id, occurrence_at);
