#include "till/office/ingest.hpp"

#include "till/base/log.hpp"
#include "till/office/crypto.hpp"
#include "till/office/outbox.hpp"
#include "till/sync/form.hpp"
#include "till/sync/stripe_client.hpp"

namespace till::office {

namespace {

// What storing one record came to, before it is turned into a verdict.
struct Outcome {
  std::string status;  // stored | duplicate | conflict | refused
  std::string message;
};

Outcome refused(std::string why) { return Outcome{"refused", std::move(why)}; }

struct FeeRule {
  std::string stripe_account;
  std::int64_t fee_fixed = 0;
  int fee_bps = 0;
  std::string capture_method;
};

// The platform's application fee on `amount`: fixed + basis points (rounded down), never more
// than the amount itself.
std::int64_t application_fee(const FeeRule& m, std::int64_t amount) {
  const std::int64_t fee = m.fee_fixed + amount * m.fee_bps / 10'000;
  return std::min(fee, amount);
}

class Writer {
 public:
  Writer(pg::Transaction& tx, const RegisterIdentity& who, const FeeRule& merchant, Timestamp now,
         const IngestConfig& config)
      : tx_(tx), who_(who), merchant_(merchant), now_(now), config_(config) {}

  Result<Outcome> write(const BatchRecord& r) {
    const auto hash = to_bytes(sha256(r.canonical));
    return std::visit([&](const auto& rec) { return write(r, rec, hash); }, r.record);
  }

 private:
  // Shared tail of every kind: the INSERT ... ON CONFLICT DO NOTHING ran and inserted nothing,
  // so the id is known; equal content is a duplicate, other content a conflict kept for review.
  Result<Outcome> existing(const BatchRecord& r, const char* table, const std::vector<std::uint8_t>& hash) {
    auto s = tx_.exec(std::string("SELECT content_sha256 FROM ") + table + " WHERE register_id = $1 AND id = $2",
                      {who_.register_id, r.id});
    if (!s) return fail(s.error());
    if (s->empty()) return fail(ErrorKind::Internal, "record vanished during ingestion");
    const auto stored = (*s)[0].bytes(0);
    if (constant_time_equal(stored, hash)) return Outcome{"duplicate", ""};
    auto c = tx_.exec(
        "INSERT INTO conflicts (register_id, record_kind, record_id, stored_sha256, received_sha256, received, "
        "received_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) "
        "ON CONFLICT (register_id, record_kind, record_id, received_sha256) DO NOTHING",
        {who_.register_id, r.kind, r.id, pg::Param::bytes(stored), pg::Param::bytes(hash), r.canonical,
         pg::Param::time(now_)});
    if (!c) return fail(c.error());
    log::warn("office.sync_conflict", {{"register_id", who_.register_id}, {"kind", r.kind}, {"id", r.id}});
    return Outcome{"conflict", "this id was stored with other content; kept for review, not overwritten"};
  }

  Result<bool> exists(const char* table, const std::string& id) {
    auto s = tx_.exec(std::string("SELECT 1 FROM ") + table + " WHERE register_id = $1 AND id = $2",
                      {who_.register_id, id});
    if (!s) return fail(s.error());
    return !s->empty();
  }

  Result<Outcome> write(const BatchRecord& r, const SaleRecord& s, const std::vector<std::uint8_t>& hash) {
    if (s.currency != who_.currency) return refused("the store sells in " + who_.currency);
    auto ins = tx_.exec(
        "INSERT INTO sales (register_id, id, store_id, currency, subtotal, discount_total, tax_total, tip, total, "
        "lines, created_at, content_sha256, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, "
        "$11, $12, $13) ON CONFLICT (register_id, id) DO NOTHING",
        {who_.register_id, s.id, who_.store_id, s.currency, s.subtotal, s.discount_total, s.tax_total, s.tip, s.total,
         s.lines_json, pg::Param::time(from_unix_ms(s.created_at_ms)), pg::Param::bytes(hash), pg::Param::time(now_)});
    if (!ins) return fail(ins.error());
    if (ins->affected() == 1) return Outcome{"stored", ""};
    return existing(r, "sales", hash);
  }

  Result<Outcome> write(const BatchRecord& r, const PaymentRecord& p, const std::vector<std::uint8_t>& hash) {
    auto sale = exists("sales", p.sale_id);
    if (!sale) return fail(sale.error());
    if (!*sale) return refused("unknown sale " + p.sale_id + ": send the sale first");
    if (p.currency != who_.currency) return refused("the store sells in " + who_.currency);
    const bool forward = p.tender == "card" && p.outcome == "stored_offline";
    if (forward && !config_.accept_reader_tokens) {
      return refused("card payments taken on a simulated/tcp/usb reader run only against till-stripe-sim; this office "
                     "talks to real Stripe, which takes card payments from Stripe smart readers only");
    }
    std::string state = "recorded";
    if (forward) state = "forwarding";
    if (p.tender == "card" && p.outcome == "approved" && !p.payment_intent.empty()) state = "succeeded";
    auto ins = tx_.exec(
        "INSERT INTO payments (register_id, id, sale_id, store_id, tender, amount, currency, outcome, card_brand, "
        "card_last4, taken_at, content_sha256, received_at, stripe_payment_intent, office_state) VALUES ($1, $2, $3, "
        "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (register_id, id) DO NOTHING",
        {who_.register_id, p.id, p.sale_id, who_.store_id, p.tender, p.amount, p.currency, p.outcome, p.card_brand,
         p.card_last4, pg::Param::time(from_unix_ms(p.taken_at_ms)), pg::Param::bytes(hash), pg::Param::time(now_),
         p.payment_intent.empty() ? pg::Param() : pg::Param(p.payment_intent), state});
    if (!ins) return fail(ins.error());
    if (ins->affected() == 0) return existing(r, "payments", hash);
    if (forward) {
      if (auto st = enqueue_payment_intent(p); !st) return fail(st.error());
    }
    return Outcome{"stored", ""};
  }

  // The simulator tier's forward: create and confirm the PaymentIntent on the connected
  // account, keyed by the register's attempt id (a resend of the record enqueues nothing new).
  Status enqueue_payment_intent(const PaymentRecord& p) {
    sync::CreatePaymentIntentParams params;
    params.amount = p.amount;
    params.currency = p.currency;
    params.capture_method = merchant_.capture_method;
    params.application_fee_amount = application_fee(merchant_, p.amount);
    params.payment_method = p.payment_method;
    params.confirm = true;
    params.metadata = {{"sale_id", p.sale_id},
                       {"attempt_id", p.id},
                       {"register_id", who_.register_id},
                       {"store_id", who_.store_id}};
    NewOperation op;
    op.kind = "create_payment_intent";
    op.stripe_account = merchant_.stripe_account;
    op.register_id = who_.register_id;
    op.subject_id = p.id;
    op.path = "/v1/payment_intents";
    op.body = sync::encode(params.to_params());
    op.idempotency_key = "office-pi-" + who_.register_id + "-" + p.id;
    return Outbox::enqueue(tx_, op, now_);
  }

  Result<Outcome> write(const BatchRecord& r, const RefundRecord& x, const std::vector<std::uint8_t>& hash) {
    if (auto dup = exists("refunds", x.id); !dup) {
      return fail(dup.error());
    } else if (*dup) {
      return existing(r, "refunds", hash);
    }
    // Lock the payment so two batches cannot both refund its last cent.
    auto pay = tx_.exec(
        "SELECT sale_id, amount, currency, tender, stripe_payment_intent, "
        "(SELECT coalesce(sum(amount), 0) FROM refunds f WHERE f.register_id = p.register_id AND f.payment_id = p.id) "
        "FROM payments p WHERE register_id = $1 AND id = $2 FOR UPDATE",
        {who_.register_id, x.payment_id});
    if (!pay) return fail(pay.error());
    if (pay->empty()) return refused("unknown payment " + x.payment_id + ": send the payment first");
    const auto row = (*pay)[0];
    if (row.text(0) != x.sale_id) return refused("payment " + x.payment_id + " belongs to another sale");
    if (row.text(2) != x.currency) return refused("the payment was in " + row.text(2));
    if (x.amount > row.i64(1) - row.i64(5)) {
      return refused("refunds would exceed the payment: " + std::to_string(row.i64(1) - row.i64(5)) + " left");
    }
    const std::string pi = row.text(4);
    const bool to_stripe = row.text(3) == "card" && !pi.empty();
    auto ins = tx_.exec(
        "INSERT INTO refunds (register_id, id, sale_id, payment_id, store_id, amount, currency, reason, created_at, "
        "content_sha256, received_at, office_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        {who_.register_id, x.id, x.sale_id, x.payment_id, who_.store_id, x.amount, x.currency, x.reason,
         pg::Param::time(from_unix_ms(x.created_at_ms)), pg::Param::bytes(hash), pg::Param::time(now_),
         to_stripe ? "forwarding" : "recorded"});
    if (!ins) return fail(ins.error());
    if (to_stripe) {
      sync::CreateRefundParams params;
      params.payment_intent = pi;
      params.amount = x.amount;
      params.metadata = {{"refund_id", x.id}, {"sale_id", x.sale_id}, {"register_id", who_.register_id}};
      NewOperation op;
      op.kind = "refund";
      op.stripe_account = merchant_.stripe_account;
      op.register_id = who_.register_id;
      op.subject_id = x.id;
      op.path = "/v1/refunds";
      op.body = sync::encode(params.to_params());
      op.idempotency_key = "office-re-" + who_.register_id + "-" + x.id;
      if (auto st = Outbox::enqueue(tx_, op, now_); !st) return fail(st.error());
    }
    return Outcome{"stored", ""};
  }

  Result<Outcome> write(const BatchRecord& r, const VoidRecord& v, const std::vector<std::uint8_t>& hash) {
    if (auto dup = exists("voids", v.id); !dup) {
      return fail(dup.error());
    } else if (*dup) {
      return existing(r, "voids", hash);
    }
    auto sale = exists("sales", v.sale_id);
    if (!sale) return fail(sale.error());
    if (!*sale) return refused("unknown sale " + v.sale_id + ": send the sale first");
    auto ins = tx_.exec(
        "INSERT INTO voids (register_id, id, sale_id, store_id, reason, created_at, content_sha256, received_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (register_id, sale_id) DO NOTHING",
        {who_.register_id, v.id, v.sale_id, who_.store_id, v.reason, pg::Param::time(from_unix_ms(v.created_at_ms)),
         pg::Param::bytes(hash), pg::Param::time(now_)});
    if (!ins) return fail(ins.error());
    if (ins->affected() == 0) return refused("sale " + v.sale_id + " was already voided by another void");
    return Outcome{"stored", ""};
  }

  pg::Transaction& tx_;
  const RegisterIdentity& who_;
  const FeeRule& merchant_;
  Timestamp now_;
  const IngestConfig& config_;
};

}  // namespace

// One transaction for the batch (one commit), a SAVEPOINT per record so that a record the
// database refuses rolls back alone and the others still land.
Result<IngestReport> Ingest::ingest(const RegisterIdentity& who, const Batch& batch) {
  if (batch.register_id != who.register_id || batch.store_id != who.store_id) {
    return fail(ErrorKind::PermissionDenied, "a register can only upload its own records to its own store");
  }
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  const Timestamp now = clock_.now();
  return pg::with_transaction(**conn, pg::Isolation::ReadCommitted, [&](pg::Transaction& tx) -> Result<IngestReport> {
    auto m = tx.exec(
        "SELECT m.stripe_account, m.fee_fixed, m.fee_bps, m.capture_method FROM stores s JOIN merchants m ON "
        "m.id = s.merchant_id WHERE s.id = $1",
        {who.store_id});
    if (!m) return fail(m.error());
    if (m->empty()) return fail(ErrorKind::Internal, "store without merchant");
    const FeeRule merchant{(*m)[0].text(0), (*m)[0].i64(1), static_cast<int>((*m)[0].i64(2)), (*m)[0].text(3)};
    Writer writer(tx, who, merchant, now, config_);
    IngestReport report;
    for (const auto& r : batch.records) {
      if (auto sp = tx.exec("SAVEPOINT record"); !sp) return fail(sp.error());
      auto outcome = writer.write(r);
      if (!outcome) {
        // A serialization failure or a lost connection fails the batch (the register resends
        // it); anything else is this record's problem only.
        if (pg::is_retryable_conflict(outcome.error()) || outcome.error().kind == ErrorKind::Unavailable) {
          return fail(outcome.error());
        }
        if (auto rb = tx.exec("ROLLBACK TO SAVEPOINT record"); !rb) return fail(rb.error());
        log::warn("office.sync_record_refused", {{"register_id", who.register_id}, {"kind", r.kind}, {"id", r.id},
                                                  {"error", outcome.error().message}});
        outcome = Outcome{"refused", outcome.error().kind == ErrorKind::Internal ? "the office could not store it"
                                                                                  : outcome.error().message};
      } else if (outcome->status == "refused") {
        if (auto rb = tx.exec("ROLLBACK TO SAVEPOINT record"); !rb) return fail(rb.error());
      } else if (auto rel = tx.exec("RELEASE SAVEPOINT record"); !rel) {
        return fail(rel.error());
      }
      if (outcome->status == "stored") ++report.stored;
      else if (outcome->status == "duplicate") ++report.duplicates;
      else if (outcome->status == "conflict") ++report.conflicts;
      else ++report.refused;
      report.results.push_back(RecordVerdict{r.kind, r.id, outcome->status, outcome->message});
    }
    return report;
  });
}

Result<std::vector<ConflictInfo>> Ingest::open_conflicts(int limit) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  auto r = (*conn)->exec(
      "SELECT id, register_id, record_kind, record_id, received::text, received_at FROM conflicts "
      "WHERE resolved_at IS NULL ORDER BY received_at, id LIMIT $1",
      {limit});
  if (!r) return fail(r.error());
  std::vector<ConflictInfo> out;
  for (int i = 0; i < r->size(); ++i) {
    const auto row = (*r)[i];
    out.push_back(ConflictInfo{row.i64(0), row.text(1), row.text(2), row.text(3), row.text(4), row.time(5)});
  }
  return out;
}

}  // namespace till::office
