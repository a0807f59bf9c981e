-- 0001: the first schema of till-office (office/README.md, "Schema"). All of it, even the parts
-- later steps use. Times are timestamptz in UTC, money is bigint minor units, ids the register
-- sends are its own (text) and are unique per register.

-- A merchant is a Stripe connected account (direct charges) with the platform's fee rule.
CREATE TABLE merchants (
  id              text PRIMARY KEY CHECK (id ~ '^mer_[0-9a-f]{16}$'),
  name            text NOT NULL CHECK (name <> ''),
  stripe_account  text NOT NULL UNIQUE CHECK (stripe_account ~ '^acct_[A-Za-z0-9]+$'),
  fee_fixed       bigint NOT NULL DEFAULT 0 CHECK (fee_fixed >= 0),
  fee_bps         integer NOT NULL DEFAULT 0 CHECK (fee_bps BETWEEN 0 AND 10000),
  capture_method  text NOT NULL DEFAULT 'automatic'
                  CHECK (capture_method IN ('automatic', 'automatic_async', 'manual')),
  created_at      timestamptz NOT NULL
);

CREATE TABLE stores (
  id           text PRIMARY KEY CHECK (id ~ '^sto_[0-9a-f]{16}$'),
  merchant_id  text NOT NULL REFERENCES merchants(id),
  name         text NOT NULL CHECK (name <> ''),
  currency     text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  locale       text NOT NULL DEFAULT 'en-US' CHECK (locale <> ''),
  -- Offline risk caps handed to the store's registers; NULL means the register's safe default.
  offline_max_per_payment  bigint  CHECK (offline_max_per_payment >= 0),
  offline_max_total        bigint  CHECK (offline_max_total >= 0),
  offline_max_count        integer CHECK (offline_max_count >= 0),
  offline_max_age_seconds  integer CHECK (offline_max_age_seconds >= 0),
  created_at   timestamptz NOT NULL,
  UNIQUE (merchant_id, name)
);

-- A register's credential is a 256-bit random secret the office saw once; only its SHA-256 is
-- kept. Until enrolment the row holds the SHA-256 of a one-time code instead.
CREATE TABLE registers (
  id                text PRIMARY KEY CHECK (id ~ '^reg_[0-9a-f]{16}$'),
  store_id          text NOT NULL REFERENCES stores(id),
  name              text NOT NULL CHECK (name <> ''),
  device_name       text NOT NULL DEFAULT '',  -- what the register called itself when it enrolled
  credential_hash   bytea UNIQUE CHECK (octet_length(credential_hash) = 32),
  enrol_code_hash   bytea UNIQUE CHECK (octet_length(enrol_code_hash) = 32),
  enrol_expires_at  timestamptz,
  enrol_used_at     timestamptz,
  revoked_at        timestamptz,
  last_seen_at      timestamptz,
  created_at        timestamptz NOT NULL,
  CHECK (credential_hash IS NULL OR enrol_used_at IS NOT NULL)
);
CREATE INDEX registers_by_store ON registers (store_id);

-- What registers upload. Each record is immutable once stored: content_sha256 is the hash of
-- its canonical JSON, a resend with the same hash is a no-op, a different one is a conflict.
CREATE TABLE sales (
  register_id     text NOT NULL REFERENCES registers(id),
  id              text NOT NULL CHECK (id <> ''),
  store_id        text NOT NULL REFERENCES stores(id),
  currency        text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  subtotal        bigint NOT NULL,
  discount_total  bigint NOT NULL,
  tax_total       bigint NOT NULL,
  tip             bigint NOT NULL,
  total           bigint NOT NULL CHECK (total >= 0),
  lines           jsonb NOT NULL,
  created_at      timestamptz NOT NULL,  -- on the register
  content_sha256  bytea NOT NULL,
  received_at     timestamptz NOT NULL,
  PRIMARY KEY (register_id, id)
);
CREATE INDEX sales_by_store ON sales (store_id, created_at);

-- The register's payment attempts (tenders). Columns from `stripe_payment_intent` on are the
-- office's own and change as Stripe answers; the register's content does not.
CREATE TABLE payments (
  register_id     text NOT NULL,
  id              text NOT NULL CHECK (id <> ''),
  sale_id         text NOT NULL,
  store_id        text NOT NULL REFERENCES stores(id),
  tender          text NOT NULL CHECK (tender IN ('cash', 'card')),
  amount          bigint NOT NULL CHECK (amount > 0),
  currency        text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  outcome         text NOT NULL CHECK (outcome IN ('approved', 'declined', 'canceled', 'stored_offline')),
  card_brand      text NOT NULL DEFAULT '',
  card_last4      text NOT NULL DEFAULT '' CHECK (card_last4 ~ '^[0-9]{0,4}$'),
  taken_at        timestamptz NOT NULL,
  content_sha256  bytea NOT NULL,
  received_at     timestamptz NOT NULL,
  stripe_payment_intent  text,
  office_state    text NOT NULL DEFAULT 'recorded'
                  CHECK (office_state IN ('recorded', 'forwarding', 'succeeded', 'failed', 'in_doubt')),
  PRIMARY KEY (register_id, id),
  FOREIGN KEY (register_id, sale_id) REFERENCES sales (register_id, id)
);

CREATE TABLE refunds (
  register_id     text NOT NULL,
  id              text NOT NULL CHECK (id <> ''),
  sale_id         text NOT NULL,
  payment_id      text NOT NULL,
  store_id        text NOT NULL REFERENCES stores(id),
  amount          bigint NOT NULL CHECK (amount > 0),
  currency        text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  reason          text NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL,
  content_sha256  bytea NOT NULL,
  received_at     timestamptz NOT NULL,
  stripe_refund   text,
  office_state    text NOT NULL DEFAULT 'recorded'
                  CHECK (office_state IN ('recorded', 'forwarding', 'succeeded', 'failed', 'in_doubt')),
  PRIMARY KEY (register_id, id),
  FOREIGN KEY (register_id, sale_id) REFERENCES sales (register_id, id),
  FOREIGN KEY (register_id, payment_id) REFERENCES payments (register_id, id)
);

CREATE TABLE voids (
  register_id     text NOT NULL,
  id              text NOT NULL CHECK (id <> ''),
  sale_id         text NOT NULL,
  store_id        text NOT NULL REFERENCES stores(id),
  reason          text NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL,
  content_sha256  bytea NOT NULL,
  received_at     timestamptz NOT NULL,
  PRIMARY KEY (register_id, id),
  UNIQUE (register_id, sale_id),
  FOREIGN KEY (register_id, sale_id) REFERENCES sales (register_id, id)
);

-- The same register id with different content: the refused version is kept for a person to
-- review, the stored one is never overwritten. One row per distinct refused version.
CREATE TABLE conflicts (
  id               bigserial PRIMARY KEY,
  register_id      text NOT NULL REFERENCES registers(id),
  record_kind      text NOT NULL CHECK (record_kind IN ('sale', 'payment', 'refund', 'void')),
  record_id        text NOT NULL,
  stored_sha256    bytea NOT NULL,
  received_sha256  bytea NOT NULL,
  received         jsonb NOT NULL,
  received_at      timestamptz NOT NULL,
  resolved_at      timestamptz,
  resolved_by      text NOT NULL DEFAULT '',
  resolution       text NOT NULL DEFAULT '',
  UNIQUE (register_id, record_kind, record_id, received_sha256)
);

-- Connect webhook events, deduplicated by Stripe's event id.
CREATE TABLE webhook_events (
  id            text PRIMARY KEY CHECK (id ~ '^evt_'),
  type          text NOT NULL,
  account       text NOT NULL DEFAULT '',
  payload       jsonb NOT NULL,
  received_at   timestamptz NOT NULL,
  processed_at  timestamptz,
  result        text NOT NULL DEFAULT ''
);

-- The office's outbox of Stripe calls. The request (method, path, form body, key, account) is
-- fixed when the row is written and sent identically on every attempt. Several office
-- processes claim rows with FOR UPDATE SKIP LOCKED; a row whose lock lapsed (its office died)
-- is claimed again and resent with the same idempotency key.
CREATE TABLE stripe_operations (
  id                bigserial PRIMARY KEY,
  kind              text NOT NULL CHECK (kind IN ('create_payment_intent', 'process_payment_intent',
                    'capture', 'cancel', 'refund', 'retrieve')),
  stripe_account    text NOT NULL CHECK (stripe_account ~ '^acct_[A-Za-z0-9]+$'),
  rate_bucket       text NOT NULL DEFAULT 'platform',
  register_id       text,
  subject_id        text NOT NULL DEFAULT '',  -- the payment or refund id it is for
  method            text NOT NULL CHECK (method IN ('GET', 'POST', 'DELETE')),
  path              text NOT NULL CHECK (path LIKE '/v1/%'),
  body              text NOT NULL DEFAULT '',
  idempotency_key   text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  state             text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'in_flight', 'done', 'failed_retryable', 'dead')),
  attempts          integer NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL,
  locked_by         text,
  locked_until      timestamptz,
  first_sent_at     timestamptz,
  last_error        text NOT NULL DEFAULT '',
  response_status   integer,
  response_body     text,
  request_id        text NOT NULL DEFAULT '',
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL
);
CREATE INDEX stripe_operations_due ON stripe_operations (next_attempt_at, id)
  WHERE state IN ('pending', 'failed_retryable', 'in_flight');

-- One token bucket per platform account, shared by every office process: a reservation is one
-- atomic UPDATE ... RETURNING (office/README.md, "Rate limit").
CREATE TABLE rate_limit_buckets (
  account           text PRIMARY KEY,
  max_rate          double precision NOT NULL CHECK (max_rate > 0),
  min_rate          double precision NOT NULL CHECK (min_rate > 0 AND min_rate <= max_rate),
  rate              double precision NOT NULL CHECK (rate > 0),
  burst             double precision NOT NULL CHECK (burst >= 1),
  tokens            double precision NOT NULL,
  updated_at        timestamptz NOT NULL,
  last_decrease_at  timestamptz
);

-- Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE.
CREATE TABLE audit_log (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL,
  actor    text NOT NULL,
  action   text NOT NULL,
  subject  text NOT NULL DEFAULT '',
  detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
