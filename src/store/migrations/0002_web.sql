-- 0002_web: what the customer portal keeps besides the sessions table of
-- 0001: members' own API tokens (stored hashed) and login throttling counters.

-- Bearer tokens of members for the provider's control panel (/api/v1). Only
-- the SHA-256 of a token is kept; the token is shown once, at creation.
CREATE TABLE member_api_tokens (
  token_id     @ID@,
  token_hash   TEXT NOT NULL UNIQUE,
  member_id    TEXT NOT NULL REFERENCES members (member_id),
  label        TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  revoked_at   BIGINT,
  last_used_at BIGINT
);
CREATE INDEX member_api_tokens_member ON member_api_tokens (member_id);

-- Failed logins per throttle key: 'pair:<member>|<address>' and 'global'.
-- failures count since window_start; a success clears the pair's row.
CREATE TABLE login_throttle (
  throttle_key    TEXT PRIMARY KEY,
  failures        INTEGER NOT NULL,
  window_start    BIGINT NOT NULL,
  last_failure_at BIGINT NOT NULL
);

CREATE INDEX sessions_expires ON sessions (expires_at);
