#include "till/store/schema.hpp"

#include <array>

namespace till::store {
namespace {

// Timestamps are INTEGER unix milliseconds; amounts INTEGER minor units; states the names of
// pos/states.hpp (CHECK constraints keep anything else out). Tokens and outbox bodies are TEXT
// when stored plainly and BLOB when sealed with the data key (see DataKey).
constexpr std::string_view kV1 = R"sql(
CREATE TABLE schema_migrations (
  version     INTEGER PRIMARY KEY,
  applied_at  INTEGER NOT NULL
);

CREATE TABLE sales (
  id               TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
  register_id      TEXT NOT NULL,
  account_id       TEXT NOT NULL,
  currency         TEXT NOT NULL CHECK (currency <> ''),
  state            TEXT NOT NULL CHECK (state IN ('open','tendering','paid','partially_paid','voided')),
  subtotal         INTEGER NOT NULL,
  discount_total   INTEGER NOT NULL,
  tax_total        INTEGER NOT NULL,
  tip              INTEGER NOT NULL,
  total            INTEGER NOT NULL,
  customer_contact TEXT NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX sales_by_created ON sales(created_at);

CREATE TABLE sale_lines (
  sale_id       TEXT NOT NULL REFERENCES sales(id),
  line_no       INTEGER NOT NULL,
  product_id    TEXT NOT NULL,
  sku           TEXT NOT NULL,
  name          TEXT NOT NULL,
  quantity      INTEGER NOT NULL,
  unit_price    INTEGER NOT NULL,
  discount      INTEGER NOT NULL,
  tax_code      TEXT NOT NULL,
  tax_rate_ppm  INTEGER NOT NULL,
  tax_inclusive INTEGER NOT NULL,
  net           INTEGER NOT NULL,
  tax           INTEGER NOT NULL,
  gross         INTEGER NOT NULL,
  PRIMARY KEY (sale_id, line_no)
) WITHOUT ROWID;

CREATE TABLE tax_lines (
  sale_id       TEXT NOT NULL REFERENCES sales(id),
  line_no       INTEGER NOT NULL,
  tax_code      TEXT NOT NULL,
  tax_rate_ppm  INTEGER NOT NULL,
  net           INTEGER NOT NULL,
  tax           INTEGER NOT NULL,
  PRIMARY KEY (sale_id, line_no)
) WITHOUT ROWID;

CREATE TABLE payment_attempts (
  id                 TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
  sale_id            TEXT NOT NULL REFERENCES sales(id),
  number             INTEGER NOT NULL,
  tender             TEXT NOT NULL CHECK (tender IN ('card','cash')),
  state              TEXT NOT NULL CHECK (state IN ('collecting','stored_offline','submitting',
                       'in_doubt','approved','declined','declined_after_forward','canceled')),
  amount             INTEGER NOT NULL,
  currency           TEXT NOT NULL,
  account_id         TEXT NOT NULL,
  idempotency_key    TEXT UNIQUE,
  offline            INTEGER NOT NULL DEFAULT 0,
  payment_method     BLOB,  -- TEXT plain, BLOB sealed (no affinity: kept as given)
  card_brand         TEXT NOT NULL DEFAULT '',
  card_last4         TEXT NOT NULL DEFAULT '',
  card_exp           TEXT NOT NULL DEFAULT '',
  card_read_method   TEXT NOT NULL DEFAULT '',
  card_aid           TEXT NOT NULL DEFAULT '',
  card_app_label     TEXT NOT NULL DEFAULT '',
  card_auth_code     TEXT NOT NULL DEFAULT '',
  card_tvr           TEXT NOT NULL DEFAULT '',
  card_cvm           TEXT NOT NULL DEFAULT '',
  payment_intent_id  TEXT NOT NULL DEFAULT '',
  decline_code       TEXT NOT NULL DEFAULT '',
  failure_message    TEXT NOT NULL DEFAULT '',
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  UNIQUE (sale_id, number)
);
CREATE INDEX attempts_by_state ON payment_attempts(state);
CREATE INDEX attempts_by_pi ON payment_attempts(payment_intent_id) WHERE payment_intent_id <> '';

CREATE TABLE outbox_operations (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  kind             TEXT NOT NULL CHECK (kind IN ('create_payment_intent','process_payment_intent',
                     'capture','cancel','refund')),
  sale_id          TEXT NOT NULL REFERENCES sales(id),
  attempt_id       TEXT REFERENCES payment_attempts(id),
  account_id       TEXT NOT NULL CHECK (account_id <> ''),
  method           TEXT NOT NULL,
  path             TEXT NOT NULL,
  body             BLOB NOT NULL,  -- TEXT plain, BLOB sealed
  idempotency_key  TEXT NOT NULL UNIQUE CHECK (idempotency_key <> ''),
  state            TEXT NOT NULL CHECK (state IN ('pending','in_flight','done','failed_retryable','dead')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  first_sent_at    INTEGER,
  last_error       TEXT NOT NULL DEFAULT '',
  last_request_id  TEXT NOT NULL DEFAULT '',
  stripe_object_id TEXT NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox_operations(state, next_attempt_at);
CREATE INDEX outbox_by_sale ON outbox_operations(sale_id);

-- A sale or a payment attempt is deleted from nothing, ever (architecture.md).
CREATE TRIGGER sales_never_deleted BEFORE DELETE ON sales
BEGIN SELECT RAISE(ABORT, 'sales are never deleted'); END;
CREATE TRIGGER attempts_never_deleted BEFORE DELETE ON payment_attempts
BEGIN SELECT RAISE(ABORT, 'payment attempts are never deleted'); END;
)sql";

constexpr std::string_view kV2 = R"sql(
CREATE TABLE webhook_events (
  id              TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
  type            TEXT NOT NULL,
  account         TEXT NOT NULL,
  payload_sha256  TEXT NOT NULL,
  received_at     INTEGER NOT NULL,
  processed       INTEGER NOT NULL DEFAULT 0,
  result          TEXT NOT NULL DEFAULT '',
  processed_at    INTEGER
);

CREATE TABLE audit_log (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  at       INTEGER NOT NULL,
  actor    TEXT NOT NULL,
  action   TEXT NOT NULL,
  subject  TEXT NOT NULL,
  detail   TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)sql";

// The attention list arrived after attempts could already be declined_after_forward: the
// backfill makes sure no such payment that an older build stored is left without an entry.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE attention_items (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  sale_id           TEXT NOT NULL REFERENCES sales(id),
  attempt_id        TEXT NOT NULL REFERENCES payment_attempts(id),
  reason            TEXT NOT NULL,
  customer_contact  TEXT NOT NULL,
  amount            INTEGER NOT NULL,
  currency          TEXT NOT NULL,
  decline_code      TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  resolved_at       INTEGER,
  resolved_by       TEXT NOT NULL DEFAULT '',
  resolution        TEXT NOT NULL DEFAULT '',
  UNIQUE (attempt_id, reason)
);
INSERT INTO attention_items (sale_id, attempt_id, reason, customer_contact, amount, currency,
                             decline_code, created_at)
  SELECT a.sale_id, a.id, 'declined_after_forward', s.customer_contact, a.amount, a.currency,
         a.decline_code, a.updated_at
  FROM payment_attempts a JOIN sales s ON s.id = a.sale_id
  WHERE a.state = 'declined_after_forward';
)sql";

// Email receipts waiting for a sender. The address is personal data: sealed like outbox bodies
// when a data key is configured (BLOB), plain TEXT otherwise (as sales.customer_contact is);
// once sent, the address is reduced to a masked form and the body erased (README: personal data).
// Refund lookups need no new index: a receipt number is a prefix of sales.id, served by its
// primary key.
constexpr std::string_view kV4 = R"sql(
CREATE TABLE email_receipts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  sale_id     TEXT NOT NULL REFERENCES sales(id),
  address     BLOB NOT NULL,  -- TEXT plain, BLOB sealed; masked once sent
  body        BLOB NOT NULL,  -- the rendered receipt; TEXT plain, BLOB sealed; empty once sent
  state       TEXT NOT NULL CHECK (state IN ('queued','sent','failed')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  sent_at     INTEGER
);
CREATE INDEX email_receipts_by_state ON email_receipts(state, id);
CREATE INDEX email_receipts_by_sale ON email_receipts(sale_id);
)sql";

// The register's identity (store/identity.hpp): one row, claimed by the first writer that opens
// the database. Older databases get none here: the first open after this migration claims one.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE register_identity (
  singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
  id          TEXT NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
)sql";

constexpr std::array<Migration, 5> kMigrations{{
    {1, "sales, lines, taxes, payment attempts, outbox", kV1},
    {2, "webhook events (dedupe) and the append-only audit log", kV2},
    {3, "attention list, backfilled from declined_after_forward attempts", kV3},
    {4, "email receipt queue", kV4},
    {5, "register identity (id and name)", kV5},
}};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }
int current_schema_version() { return kMigrations.back().version; }

}  // namespace till::store
