-- bmctl schema, version 23: RPO breaches are facts of the runs. A gap
-- between two restore points (successful or warning backups, dated at their
-- start) longer than RPO + grace is recorded when its closing run arrives,
-- with the ticket that stands for it: the incident `check` opened while the
-- gap was open, or a P3 "find the cause" ticket when nobody saw it live.

CREATE TABLE rpo_breaches (
    policy_id INTEGER NOT NULL REFERENCES policies (id),
    client_id INTEGER NOT NULL REFERENCES clients (id),
    gap_from  INTEGER NOT NULL,
    gap_to    INTEGER NOT NULL,
    found_at  INTEGER NOT NULL,
    -- (no foreign key: the ticket may be written later in the same transaction)
    ticket_id INTEGER,
    PRIMARY KEY (policy_id, gap_from)
) STRICT;

CREATE INDEX rpo_breaches_client ON rpo_breaches (client_id, gap_to);
