-- The reissue pipeline's working state.
-- orders.names: the names the new certificate carries, chosen by preflight
-- (space separated, the common name first).
ALTER TABLE orders ADD COLUMN names TEXT;
-- attempts.ordering_at: newOrder is about to be sent (set and committed
-- before the request); with no acme_order_url after a crash, the CA may
-- hold an orphaned pending order for this attempt.
ALTER TABLE attempts ADD COLUMN ordering_at BIGINT;
-- attempts.tokens: the http-01 tokens placed on the server, removed after.
ALTER TABLE attempts ADD COLUMN tokens TEXT;
-- attempts.failure: why the attempt was abandoned (a new one followed).
ALTER TABLE attempts ADD COLUMN failure TEXT;
CREATE INDEX orders_lease ON orders (lease_owner);
