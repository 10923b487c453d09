-- 0014_worker_nodes: which process holds each worker node name. A pool
-- registers its node here before its threads start and renews the row (its
-- heartbeat) well within its lease; while a row is fresh (expires_at not
-- passed) no other process may run workers under that node name, and only
-- leases of boots of the node without a fresh row are taken back at once
-- (src/store/nodes.c). host, host_key and pid identify the holder: host for
-- the operator's message, host_key (kernel boot id and PID namespace) to
-- tell a crashed predecessor on the same host by its PID.
CREATE TABLE worker_nodes (
  node         TEXT PRIMARY KEY,
  boot         TEXT NOT NULL,
  host         TEXT NOT NULL,
  host_key     TEXT NOT NULL,
  pid          BIGINT NOT NULL,
  started_at   BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL
);
