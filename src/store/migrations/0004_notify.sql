-- notify: the outbox's delivery lease and its terminal failure (invariant 5).
-- A delivering thread or process claims due messages with a lease
-- (lease_owner, lease_expires); a message whose lease expired is claimed
-- again (a crash during delivery redelivers with the same Message-ID).
-- failed_at is set when the attempts are exhausted or the server refused for
-- good; such a message is never dropped: it stays listed until retried.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_expires BIGINT;
ALTER TABLE outbox ADD COLUMN failed_at BIGINT;
ALTER TABLE outbox ADD COLUMN subject TEXT;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
