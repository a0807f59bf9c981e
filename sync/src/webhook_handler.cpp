#include "till/sync/webhook_handler.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "attempt_plan.hpp"
#include "till/base/log.hpp"
#include "till/base/random.hpp"
#include "till/sync/stripe_types.hpp"

namespace till::sync {

using pos::AttemptState;
using Kind = WebhookResult::Kind;

std::string_view to_string(WebhookResult::Kind kind) noexcept {
  switch (kind) {
    case Kind::Processed: return "processed";
    case Kind::Duplicate: return "duplicate";
    case Kind::Rejected: return "rejected";
    case Kind::Failed: return "failed";
  }
  return "unknown";
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  return to_hex(std::span<const std::uint8_t>(md, len));
}

WebhookHandler::WebhookHandler(Ledger& ledger, const Clock& clock, WebhookHandlerConfig config)
    : ledger_(&ledger), clock_(clock), config_(std::move(config)) {}
WebhookHandler::~WebhookHandler() = default;
WebhookHandler::WebhookHandler(WebhookHandler&&) noexcept = default;

namespace {

// What handling decided, before anything is written.
struct Decision {
  std::string result;
  std::optional<detail::AttemptPlan> plan;
  std::optional<AuditNote> audit;
};

WebhookResult reply(Kind kind, int status, std::string event_id, std::string type, std::string result) {
  return WebhookResult{kind, status, std::move(event_id), std::move(type), std::move(result)};
}

// Step 3 of handle(): route one verified, new event by type and account into a Decision. Each
// route answers nullopt when it decided, or the reply that ends handling (400 unreadable, 500 when
// the ledger failed).
struct Router {
  Ledger& ledger;
  const WebhookHandlerConfig& config;
  const Event& ev;
  Timestamp now;
  Decision d;

  using Answer = std::optional<WebhookResult>;
  Answer rejected(const std::string& why) const { return reply(Kind::Rejected, 400, ev.id, ev.type, why); }
  Answer failed(const std::string& why) const { return reply(Kind::Failed, 500, ev.id, ev.type, why); }

  void unknown(const std::string& what) {
    d.result = "unknown to this register: " + what + "; kept for reconciliation";
    d.audit = AuditNote{config.actor, "webhook.unknown_object", ev.id, ev.type + " " + what};
  }

  Answer apply_to(const pos::PaymentAttempt& a, const detail::AttemptTarget& t) {
    if (ev.account != a.account_id) {
      d.result = "account " + ev.account + " is not attempt " + a.id + "'s account " + a.account_id + "; not applied";
      d.audit = AuditNote{config.actor, "webhook.account_mismatch", ev.id, d.result};
      return std::nullopt;
    }
    auto p = detail::plan_attempt(ledger, a, t, {config.auto_capture, config.capture_delay}, now);
    if (!p) return failed(p.error().describe());
    if (p->refused_regression || p->conflicting_payment_intent) {
      d.result = "no change: " + p->note;
    } else if (!p->update && !p->capture && !p->sale_to_paid) {
      d.result = "no change: attempt " + a.id + " already " + std::string(pos::to_string(a.state));
    } else {
      d.result = "attempt " + a.id + " -> " + std::string(pos::to_string(p->final_state));
      if (p->capture) d.result += ", capture queued";
      if (p->sale_to_paid) d.result += ", sale paid";
    }
    d.plan = std::move(*p);
    return std::nullopt;
  }

  // payment_intent.*: Stripe's verdict becomes the attempt's event.
  Answer payment_intent() {
    const std::string& type = ev.type;
    auto pi = parse_payment_intent(ev.object_json);
    if (!pi) return rejected("unreadable PaymentIntent: " + pi.error().message);
    auto a = detail::find_attempt_for(ledger, *pi);
    if (!a) return failed(a.error().describe());
    detail::AttemptTarget t;
    t.payment_intent_id = pi->id;
    bool applies = true;
    if (type == "payment_intent.succeeded") {
      t.event = pos::AttemptEvent::StripeApproved;
    } else if (type == "payment_intent.amount_capturable_updated") {
      t.event = pos::AttemptEvent::StripeApproved;
      t.needs_capture = pi->status == PaymentIntentStatus::RequiresCapture;
      t.capturable = pi->amount_capturable;
    } else if (type == "payment_intent.payment_failed") {
      t.event = pos::AttemptEvent::StripeDeclined;
      if (pi->last_payment_error) {
        t.decline_code = !pi->last_payment_error->decline_code.empty() ? pi->last_payment_error->decline_code
                                                                       : pi->last_payment_error->code;
        t.failure_message = pi->last_payment_error->message;
      }
    } else if (type == "payment_intent.canceled") {
      t.event = pos::AttemptEvent::StripeCanceled;
    } else {
      applies = false;  // created, processing, ...: nothing decided yet
    }
    if (!*a) {
      unknown("PaymentIntent " + pi->id + (pi->metadata_value("sale_id") ? " (sale " + *pi->metadata_value("sale_id") + ")" : ""));
    } else if (!applies) {
      d.result = "no change (" + type + ")";
    } else {
      return apply_to(**a, std::move(t));
    }
    return std::nullopt;
  }

  // Refunds are the engine's operations: their events are audited, never applied.
  Answer refund() {
    const std::string& type = ev.type;
    std::string pi_id;
    std::string what;
    if (ev.object_type == "refund") {
      auto r = parse_refund(ev.object_json);
      if (!r) return rejected("unreadable refund: " + r.error().message);
      pi_id = r->payment_intent;
      what = "refund " + r->id + " " + r->status + " " + std::to_string(r->amount) + " " + r->currency +
             (r->failure_reason.empty() ? "" : " (" + r->failure_reason + ")");
    } else {
      const auto j = nlohmann::json::parse(ev.object_json, nullptr, false);
      if (j.is_object()) {
        if (j.contains("payment_intent") && j["payment_intent"].is_string()) pi_id = j["payment_intent"];
        const auto refunded = j.value("amount_refunded", static_cast<std::int64_t>(0));
        what = "charge " + ev.object_id + " refunded " + std::to_string(refunded);
      }
    }
    auto a = pi_id.empty() ? Result<std::optional<pos::PaymentAttempt>>(std::nullopt)
                           : ledger.attempt_by_payment_intent(pi_id);
    if (!a) return failed(a.error().describe());
    if (!*a) {
      unknown(what + " for PaymentIntent " + pi_id);
    } else if ((*a)->account_id != ev.account) {
      d.result = "account mismatch for " + what + "; not applied";
      d.audit = AuditNote{config.actor, "webhook.account_mismatch", ev.id, d.result};
    } else {
      d.result = what;
      d.audit = AuditNote{config.actor, "webhook." + type, (*a)->id, what};
    }
    return std::nullopt;
  }

  // terminal.reader.action_*: a failed process_payment_intent with a card decline declines the attempt.
  Answer reader() {
    const std::string& type = ev.type;
    auto reader = parse_reader(ev.object_json);
    if (!reader) return rejected("unreadable reader: " + reader.error().message);
    const ReaderAction action = reader->action.value_or(ReaderAction{});
    const std::string what = "reader " + reader->id + " " + action.type + " " + action.status +
                             (action.failure_code.empty() ? "" : " (" + action.failure_code + ")");
    std::optional<pos::PaymentAttempt> attempt;
    if (!action.payment_intent.empty()) {
      auto a = ledger.attempt_by_payment_intent(action.payment_intent);
      if (!a) return failed(a.error().describe());
      attempt = std::move(*a);
    }
    const bool card_decline = action.failure_code == "card_declined" || action.failure_code == "insufficient_funds" ||
                              action.failure_code == "expired_card";
    if (!attempt) {
      if (action.payment_intent.empty()) {
        d.result = what;
      } else {
        unknown(what + " for PaymentIntent " + action.payment_intent);
      }
    } else if (type == "terminal.reader.action_failed" && action.type == "process_payment_intent" && card_decline) {
      detail::AttemptTarget t;
      t.event = pos::AttemptEvent::StripeDeclined;  // the reader's decline came from Stripe
      t.payment_intent_id = action.payment_intent;
      t.decline_code = action.failure_code;
      t.failure_message = action.failure_message;
      return apply_to(*attempt, std::move(t));
    } else {
      // Success of process_payment_intent is decided by the payment_intent.* event that follows.
      d.result = what;
      d.audit = AuditNote{config.actor, "webhook." + type, attempt->id, what};
    }
    return std::nullopt;
  }

  Answer route() {
    const std::string& type = ev.type;
    if (type.starts_with("payment_intent.")) return payment_intent();
    if (type == "charge.refunded" || type == "refund.updated" || type == "refund.created" ||
        type == "charge.refund.updated") {
      return refund();
    }
    if (type == "terminal.reader.action_succeeded" || type == "terminal.reader.action_failed") return reader();
    d.result = "no handler for " + type + "; recorded";
    return std::nullopt;
  }
};

}  // namespace

WebhookResult WebhookHandler::handle(std::string_view raw_body, std::string_view signature_header) {
  const Timestamp now = clock_.now();
  // 1. The signature, on the raw bytes, before anything looks inside them.
  if (auto v = verify_signature(signature_header, raw_body, config_.secret, now, config_.tolerance); !v) {
    log::warn("webhook.rejected", {{"reason", v.error().message}, {"bytes", static_cast<std::int64_t>(raw_body.size())}});
    return reply(Kind::Rejected, 400, {}, {}, v.error().message);
  }
  auto event = parse_event(raw_body);
  if (!event) {
    log::warn("webhook.unreadable", {{"error", event.error().message}});
    return reply(Kind::Rejected, 400, {}, {}, "unreadable event: " + event.error().message);
  }
  const Event& ev = *event;

  // 2. Dedupe by event id.
  Ledger& ledger = *ledger_;
  auto seen = ledger.webhook_seen(ev.id);
  if (!seen) return reply(Kind::Failed, 500, ev.id, ev.type, seen.error().describe());
  if (*seen) {
    log::info("webhook.duplicate", {{"event_id", ev.id}, {"type", ev.type}});
    return reply(Kind::Duplicate, 200, ev.id, ev.type, "duplicate of an event already recorded");
  }

  // 3. Route by type and account.
  Router router{ledger, config_, ev, now, {}};
  if (auto answer = router.route()) return std::move(*answer);
  const Decision& d = router.d;
  const std::string& type = ev.type;

  // 4. One transaction: the event (dedupe key), the changes, the audit entry.
  LedgerChange change;
  change.webhook = WebhookRecord{ev.id, ev.type, ev.account, sha256_hex(raw_body), now, d.result};
  if (d.plan) detail::add_to(change, *d.plan);
  if (d.audit) change.audit.push_back(*d.audit);
  auto w = ledger.commit(change);
  if (!w) {
    log::error("webhook.store_failed", {{"event_id", ev.id}, {"error", w.error().describe()}});
    return reply(Kind::Failed, 500, ev.id, type, w.error().describe());
  }
  if (w->duplicate_webhook) return reply(Kind::Duplicate, 200, ev.id, type, "duplicate of an event already recorded");
  log::info("webhook.processed", {{"event_id", ev.id}, {"type", type}, {"account", ev.account}, {"result", d.result}});
  return reply(Kind::Processed, 200, ev.id, type, d.result);
}

}  // namespace till::sync
