-- 0008_admin: what the operator pages read often. Operators and their
-- sessions already have tables (0001: operators, sessions.operator_id).
-- The revocation_pending queue: a handful of rows among all orders.
CREATE INDEX orders_revocation_pending ON orders (revocation_pending)
  WHERE revocation_pending = 1;
-- An operator's sessions, deleted when the operator is removed.
CREATE INDEX sessions_operator ON sessions (operator_id);
-- Orders that failed or wait to retry (the failures page).
CREATE INDEX orders_failure ON orders (updated_at) WHERE failure IS NOT NULL;
