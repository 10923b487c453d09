-- 0001_init: the whole data model of certdesk, in SQL that SQLite and
-- PostgreSQL both accept. @ID@ is the backend's auto-increment primary key.
-- Times are BIGINT seconds since the epoch (UTC); dates of the provider's
-- calendar (terms, deadlines) are TEXT 'YYYY-MM-DD' beside their instants.

CREATE TABLE members (
  member_id     TEXT PRIMARY KEY,
  email         TEXT NOT NULL,
  display_name  TEXT NOT NULL,
  locale        TEXT NOT NULL CHECK (locale IN ('ja', 'en')),
  password_hash TEXT,                      -- PHC $argon2id$...; NULL = SSO only
  updated_at    BIGINT NOT NULL
);

CREATE TABLE servers (
  server         TEXT PRIMARY KEY,
  ipv4           TEXT,
  ipv6           TEXT,
  state          TEXT NOT NULL CHECK (state IN ('ok', 'maintenance', 'broken')),
  driver         TEXT NOT NULL DEFAULT 'nginx',
  http_port      INTEGER NOT NULL DEFAULT 80,
  https_port     INTEGER NOT NULL DEFAULT 443,
  updated_at     BIGINT NOT NULL,
  CHECK (ipv4 IS NOT NULL OR ipv6 IS NOT NULL)
);

CREATE TABLE sites (
  fqdn       TEXT PRIMARY KEY,
  member_id  TEXT NOT NULL REFERENCES members (member_id),
  server     TEXT NOT NULL REFERENCES servers (server),
  state      TEXT NOT NULL CHECK (state IN ('ok', 'suspended', 'deleted')),
  updated_at BIGINT NOT NULL
);
CREATE INDEX sites_member ON sites (member_id);

-- A pending new SSL setting in the control panel (blocks a reissue).
CREATE TABLE ssl_settings (
  fqdn        TEXT NOT NULL,
  common_name TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  PRIMARY KEY (fqdn, common_name)
);
CREATE INDEX ssl_settings_cn ON ssl_settings (common_name);

-- What a hosting server has installed, per name a leaf covers.
CREATE TABLE installed (
  server      TEXT NOT NULL REFERENCES servers (server),
  name        TEXT NOT NULL,
  sha256      TEXT NOT NULL,
  serial      TEXT NOT NULL,
  issuer_dn   TEXT NOT NULL,
  not_after   BIGINT NOT NULL,
  source_file TEXT NOT NULL,
  seen_at     BIGINT NOT NULL,
  PRIMARY KEY (server, name)
);

-- The product a member bought; its generations are issuances.
CREATE TABLE certificates (
  certificate_id      TEXT PRIMARY KEY,
  member_id           TEXT NOT NULL REFERENCES members (member_id),
  product             TEXT NOT NULL,
  common_name         TEXT NOT NULL,
  term_start          TEXT NOT NULL,
  term_end            TEXT NOT NULL,
  term_end_at         BIGINT NOT NULL,      -- last second of the term (provider's zone)
  current_issuance_id BIGINT,
  updated_at          BIGINT NOT NULL
);
CREATE INDEX certificates_member ON certificates (member_id);
CREATE INDEX certificates_cn ON certificates (common_name);

CREATE TABLE issuances (
  issuance_id    @ID@,
  certificate_id TEXT NOT NULL REFERENCES certificates (certificate_id),
  source         TEXT NOT NULL CHECK (source IN ('import', 'acme')),
  ca             TEXT,                      -- the configured CA that issued it (acme)
  issuer_dn      TEXT NOT NULL,
  issuer_der     TEXT NOT NULL,             -- hex of the issuer Name, for exact matching
  aki            TEXT NOT NULL DEFAULT '',
  serial         TEXT NOT NULL,             -- lowercase hex, no leading zeros
  not_before     BIGINT NOT NULL,
  not_after      BIGINT NOT NULL,
  sha256         TEXT NOT NULL,
  sans           TEXT NOT NULL,             -- space-separated dNSNames
  key_type       TEXT NOT NULL DEFAULT '',
  chain_pem      TEXT NOT NULL,
  key_secret_id  TEXT,                      -- secrets.secret_id of its private key
  order_id       BIGINT,
  created_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX issuances_sha256 ON issuances (certificate_id, sha256);
CREATE INDEX issuances_issuer ON issuances (issuer_der);
CREATE INDEX issuances_serial ON issuances (serial);

CREATE TABLE campaigns (
  campaign_id     @ID@,
  name            TEXT NOT NULL UNIQUE,
  criteria        TEXT NOT NULL,            -- JSON: what was matched, for the record
  deadline        TEXT NOT NULL,
  deadline_at     BIGINT NOT NULL,
  revocation_date TEXT,
  revocation_at   BIGINT,
  state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'closed')),
  created_by      TEXT NOT NULL,
  created_at      BIGINT NOT NULL
);

CREATE TABLE campaign_targets (
  campaign_id    BIGINT NOT NULL REFERENCES campaigns (campaign_id),
  certificate_id TEXT NOT NULL REFERENCES certificates (certificate_id),
  issuance_id    BIGINT NOT NULL REFERENCES issuances (issuance_id),
  PRIMARY KEY (campaign_id, certificate_id)
);
CREATE INDEX campaign_targets_cert ON campaign_targets (certificate_id);

CREATE TABLE orders (
  order_id           @ID@,
  certificate_id     TEXT NOT NULL REFERENCES certificates (certificate_id),
  campaign_id        BIGINT REFERENCES campaigns (campaign_id),
  old_issuance_id    BIGINT NOT NULL REFERENCES issuances (issuance_id),
  new_issuance_id    BIGINT REFERENCES issuances (issuance_id),
  state              TEXT NOT NULL,
  attempt            INTEGER NOT NULL DEFAULT 0,
  requested_by       TEXT NOT NULL,          -- 'member:ID' or 'operator:NAME'
  request_key        TEXT UNIQUE,            -- idempotency key of the request
  failure            TEXT,
  failure_retryable  INTEGER,
  failure_detail     TEXT,
  revocation_pending INTEGER NOT NULL DEFAULT 0,
  lease_owner        TEXT,
  lease_expires      BIGINT,
  next_run_at        BIGINT NOT NULL DEFAULT 0,
  retries            INTEGER NOT NULL DEFAULT 0,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL
);
-- Invariant 2: at most one open order per certificate, enforced by the index.
CREATE UNIQUE INDEX orders_one_open ON orders (certificate_id)
  WHERE state NOT IN ('done', 'failed', 'canceled');
CREATE INDEX orders_certificate ON orders (certificate_id, order_id);
CREATE INDEX orders_runnable ON orders (state, next_run_at);

CREATE TABLE attempts (
  order_id       BIGINT NOT NULL REFERENCES orders (order_id),
  attempt        INTEGER NOT NULL,
  ca             TEXT NOT NULL,
  acme_order_url TEXT,
  key_secret_id  TEXT,
  state          TEXT NOT NULL,
  finalized_at   BIGINT,
  created_at     BIGINT NOT NULL,
  PRIMARY KEY (order_id, attempt)
);
CREATE UNIQUE INDEX attempts_acme_order ON attempts (acme_order_url);

CREATE TABLE events (
  event_id       @ID@,
  at             BIGINT NOT NULL,
  actor          TEXT NOT NULL,             -- 'member:ID', 'operator:NAME', 'worker:NODE', 'system'
  kind           TEXT NOT NULL,             -- 'order.transition', 'import', 'campaign.create', ...
  order_id       BIGINT,
  certificate_id TEXT,
  campaign_id    BIGINT,
  from_state     TEXT,
  to_state       TEXT,
  detail         TEXT
);
CREATE INDEX events_order ON events (order_id);
CREATE INDEX events_certificate ON events (certificate_id);

-- The mail outbox (invariant 5): written in the same transaction as its cause.
CREATE TABLE outbox (
  message_id      TEXT PRIMARY KEY,
  dedup_key       TEXT NOT NULL UNIQUE,     -- e.g. 'order-done:42', 'campaign:3:member:m1'
  kind            TEXT NOT NULL,
  member_id       TEXT,
  order_id        BIGINT,
  campaign_id     BIGINT,
  rcpt            TEXT NOT NULL,
  message         TEXT NOT NULL,            -- the whole MIME message
  created_at      BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  sent_at         BIGINT,
  last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox (sent_at, next_attempt_at);

-- Sealed secrets (private keys, account keys): AES-256-GCM under the master
-- key with 'secret:<secret_id>' as associated data; kid names the key.
CREATE TABLE secrets (
  secret_id  TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,
  kid        INTEGER NOT NULL,
  sealed     TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX secrets_kid ON secrets (kid);

CREATE TABLE operators (
  operator_id   TEXT PRIMARY KEY,
  display_name  TEXT NOT NULL,
  password_hash TEXT,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  created_at    BIGINT NOT NULL,
  disabled_at   BIGINT
);

CREATE TABLE sessions (
  session_hash TEXT PRIMARY KEY,            -- SHA-256 of the cookie value
  member_id    TEXT REFERENCES members (member_id),
  operator_id  TEXT REFERENCES operators (operator_id),
  csrf_token   TEXT NOT NULL,
  client_addr  TEXT,
  created_at   BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL,
  CHECK (member_id IS NOT NULL OR operator_id IS NOT NULL)
);

CREATE TABLE api_tokens (
  token_hash   TEXT PRIMARY KEY,            -- SHA-256 of the token
  operator_id  TEXT NOT NULL REFERENCES operators (operator_id),
  label        TEXT NOT NULL,
  scopes       TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT,
  revoked_at   BIGINT,
  last_used_at BIGINT
);

CREATE TABLE ca_accounts (
  ca            TEXT PRIMARY KEY,           -- the [ca NAME] of the config
  directory_url TEXT NOT NULL,
  account_url   TEXT,
  key_secret_id TEXT NOT NULL REFERENCES secrets (secret_id),
  eab_kid       TEXT,
  contact       TEXT,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);
