-- 0010_metrics_audit: the audit trail's source address and the counters that
-- /metrics reads. Both are in the store because several certdesk processes
-- (serve, worker nodes, the CLI) add to them.

-- events.source: where the actor acted from: the portal client's address
-- (behind trusted proxies, the forwarded one), 'local:USER' for the CLI, or
-- the worker's node name. NULL for events recorded before this migration.
ALTER TABLE events ADD COLUMN source TEXT;
CREATE INDEX events_at ON events (at);
CREATE INDEX events_actor ON events (actor);

-- Monotonic counters of things that leave no row behind (a lease taken over,
-- a reload, a CA error): name and one label value ('' when none).
CREATE TABLE metric_counters (
  name  TEXT NOT NULL,
  label TEXT NOT NULL,
  value BIGINT NOT NULL,
  PRIMARY KEY (name, label)
);

-- Time spent in each order state, recorded at the transition out of it, as
-- histogram buckets: bucket is the index of the first bound >= the duration
-- (src/store/metrics.c), sum_seconds the durations that fell in it.
CREATE TABLE stage_seconds (
  state       TEXT NOT NULL,
  bucket      INTEGER NOT NULL,
  count       BIGINT NOT NULL,
  sum_seconds BIGINT NOT NULL,
  PRIMARY KEY (state, bucket)
);
