#include "till/sync/store_ledger.hpp"

#include "engine_impl.hpp"
#include "till/sync/webhook_handler.hpp"

namespace till::sync {

Result<std::vector<pos::OutboxOperation>> StoreLedger::claim_due(Timestamp now, int limit) {
  return store_.outbox().claim_due(now, limit);
}

Status StoreLedger::release_claimed(const std::vector<std::int64_t>& operation_ids) {
  return store_.write([&](store::WriteTx& tx) -> Status {
    for (std::int64_t id : operation_ids) {
      if (auto r = tx.outbox().release(id); !r) return fail(r.error());
    }
    return ok();
  });
}

Result<pos::Sale> StoreLedger::sale(std::string_view sale_id) { return store_.sales().get(sale_id); }

Result<pos::PaymentAttempt> StoreLedger::attempt(std::string_view attempt_id) {
  return store_.attempts().get(attempt_id);
}

Result<std::optional<pos::PaymentAttempt>> StoreLedger::attempt_by_payment_intent(std::string_view pi_id) {
  return store_.attempts().by_payment_intent(pi_id);
}

Result<std::vector<pos::PaymentAttempt>> StoreLedger::attempts_for_sale(std::string_view sale_id) {
  return store_.attempts().for_sale(sale_id);
}

Result<std::vector<pos::OutboxOperation>> StoreLedger::operations_for_sale(std::string_view sale_id) {
  return store_.outbox().for_sale(sale_id);
}

Result<bool> StoreLedger::webhook_seen(std::string_view event_id) {
  auto e = store_.journal().webhook(event_id);
  if (!e) return fail(e.error());
  return e->has_value();
}

namespace {

Status apply_operation(store::WriteTx& tx, const OperationResult& o) {
  switch (o.kind) {
    case OperationResult::Kind::Done:
      return tx.outbox().complete(o.operation_id, store::OperationOutcome{o.request_id, o.stripe_object_id});
    case OperationResult::Kind::Retry:
      return tx.outbox().mark_failed(o.operation_id, store::OperationFailure{o.error, o.request_id, o.next_attempt_at});
    case OperationResult::Kind::Dead:
      return tx.outbox().mark_dead(o.operation_id, store::OperationFailure{o.error, o.request_id, {}});
  }
  return fail(ErrorKind::Internal, "unknown operation result");
}

std::optional<std::string> non_empty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

}  // namespace

Result<Committed> StoreLedger::commit(const LedgerChange& change) {
  Committed out;
  auto w = store_.write([&](store::WriteTx& tx) -> Status {
    out = {};
    if (change.webhook) {
      const WebhookRecord& e = *change.webhook;
      auto r = tx.journal().record_webhook(
          store::WebhookEvent{e.id, e.type, e.account, e.payload_sha256, e.received_at, true, e.result});
      if (!r) return fail(r.error());
      if (*r == store::WebhookSeen::AlreadySeen) {
        out.duplicate_webhook = true;
        return ok();
      }
    }
    if (change.attempt) {
      const AttemptChange& a = *change.attempt;
      store::AttemptUpdate u;
      u.attempt_id = a.attempt_id;
      u.event = a.event;
      u.payment_intent_id = non_empty(a.payment_intent_id);
      u.decline_code = non_empty(a.decline_code);
      u.failure_message = non_empty(a.failure_message);
      auto step = tx.attempts().update(u);
      if (!step) return fail(step.error());
      out.attempt = *step;
    }
    if (change.sale_paid) {
      if (auto r = tx.sales().update_state(*change.sale_paid, pos::SaleState::Paid); !r) return r;
    }
    for (const auto& op : change.enqueue) {
      if (auto r = tx.outbox().enqueue(op); !r) return fail(r.error());
    }
    for (const auto& n : change.audit) {
      if (auto r = tx.journal().append_audit(store::AuditEntry{0, {}, n.actor, n.action, n.subject, n.detail}); !r) {
        return fail(r.error());
      }
    }
    if (change.operation) return apply_operation(tx, *change.operation);
    return ok();
  });
  if (!w) return fail(w.error());
  return out;
}

// ---- the engine and the webhook handler on a Store (declared in their headers) --------------

Engine::Engine(store::Store& store, StripeClient& client, const Clock& clock, Random& random, EngineConfig config) {
  auto ledger = std::make_unique<StoreLedger>(store);
  Ledger& ref = *ledger;
  impl_ = std::make_unique<Impl>(std::move(ledger), ref, client, clock, random, std::move(config));
}

WebhookHandler::WebhookHandler(store::Store& store, const Clock& clock, WebhookHandlerConfig config)
    : owned_(std::make_unique<StoreLedger>(store)), ledger_(owned_.get()), clock_(clock), config_(std::move(config)) {}

}  // namespace till::sync
