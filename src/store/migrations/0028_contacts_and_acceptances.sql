-- bmctl schema, version 28: the client's people (who decides, who is the
-- technical contact) and the risks a client accepted, each until a date
-- and for a measure: the risk returns when it expires or the facts get
-- worse than what was accepted.

CREATE TABLE client_contacts (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients (id),
    name       TEXT NOT NULL CHECK (name <> ''),
    email      TEXT,
    role       TEXT NOT NULL CHECK (role IN ('decision-maker', 'technical', 'billing', 'other')),
    created_at INTEGER NOT NULL,
    UNIQUE (client_id, name)
) STRICT;

CREATE TABLE risk_acceptances (
    id          INTEGER PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES clients (id),
    rule        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    -- the client's person who accepted it, as they signed ("Jane Roe (CFO at Acme)")
    accepted_by TEXT NOT NULL CHECK (accepted_by <> ''),
    -- who recorded it (a login)
    recorded_by TEXT NOT NULL,
    until_at    INTEGER NOT NULL,
    ref         TEXT NOT NULL CHECK (ref <> ''),
    note        TEXT,
    -- the rule's measure when accepted (higher is worse)
    measure     REAL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

CREATE INDEX risk_acceptances_by_client ON risk_acceptances (client_id, rule, subject);
