-- Bulk reissue by the operator (`certdesk campaign reissue|pause|resume`) and
-- the CA's newOrder limit that every worker process honours together.
--
-- campaign_bulk: the pace a campaign's bulk reissue was queued at (orders per
-- hour) and when it last started or resumed (the report's rate looks no
-- further back: a pause is not a slowdown).
CREATE TABLE campaign_bulk (
  campaign_id   BIGINT PRIMARY KEY REFERENCES campaigns (campaign_id),
  rate_per_hour BIGINT NOT NULL,
  started_at    BIGINT NOT NULL,
  resumed_at    BIGINT NOT NULL,
  updated_by    TEXT NOT NULL
);
-- campaign_pauses: a paused campaign's queued orders are not claimed (orders
-- in flight go on). campaign_id 0 is the global pause (every queued order).
CREATE TABLE campaign_pauses (
  campaign_id BIGINT PRIMARY KEY,
  paused_by   TEXT NOT NULL,
  paused_at   BIGINT NOT NULL
);
-- ca_order_gates: one row per CA that a worker updates first, so that the
-- check-and-take below is serialized across processes (SQLite's write lock,
-- PostgreSQL's row lock).
CREATE TABLE ca_order_gates (
  ca         TEXT PRIMARY KEY,
  touched_ms BIGINT NOT NULL
);
-- ca_order_slots: one per newOrder sent (or about to be), in milliseconds:
-- granted before the request, done when its answer (or error) came back.
-- A slot counts against the CA's window until done_ms + window.
CREATE TABLE ca_order_slots (
  slot_id    @ID@,
  ca         TEXT NOT NULL,
  order_id   BIGINT,
  granted_ms BIGINT NOT NULL,
  done_ms    BIGINT
);
CREATE INDEX ca_order_slots_ca ON ca_order_slots (ca, granted_ms);
