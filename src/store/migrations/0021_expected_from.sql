-- bmctl schema, version 21: a history import expects a policy's runs from
-- the start of the span it covers, even before the policy was created
-- (onboarding brings months of past runs). Windows from `expected_from` up
-- to the policy's creation are closed by that import, and counted.

ALTER TABLE policy_state ADD COLUMN expected_from INTEGER;
