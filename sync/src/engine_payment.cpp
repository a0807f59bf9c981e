// PaymentIntent operations: resolve what Stripe already has before anything is sent again
// (retrieve by id; after the key-retention margin, search by metadata), send the stored bytes
// with the stored key, and turn the answer into the attempt's event.
#include <algorithm>

#include <boost/asio/use_awaitable.hpp>

#include "engine_impl.hpp"
#include "till/base/log.hpp"
#include "till/sync/operations.hpp"

namespace till::sync {

namespace asio = boost::asio;
using pos::AttemptState;

namespace {

// How good a PaymentIntent found by search is, to pick the one that decides when (wrongly)
// there is more than one for an attempt.
int rank(const PaymentIntent& pi) {
  switch (pi.status) {
    case PaymentIntentStatus::Succeeded: return 5;
    case PaymentIntentStatus::RequiresCapture: return 4;
    case PaymentIntentStatus::Processing: return 3;
    case PaymentIntentStatus::RequiresPaymentMethod: return 2;
    case PaymentIntentStatus::Canceled: return 1;
    default: return 0;
  }
}

}  // namespace

// Applies Stripe's view of the attempt's PaymentIntent: final -> done; still open -> retry
// (next time by retrieving it).
void Engine::Impl::apply_payment_intent(OperationReport& rep, const pos::OutboxOperation& op,
                                        const pos::PaymentAttempt& a, const PaymentIntent& pi,
                                        const std::string& req_id, bool confirm_requested) {
  const detail::Verdict v = detail::verdict_for(pi, confirm_requested);
  if (const std::string* sale = pi.metadata_value("sale_id"); sale != nullptr && *sale != a.sale_id) {
    log::error("sync.payment_intent_mismatch", {{"operation_id", op.id}, {"payment_intent", pi.id}});
  }
  if (pi.amount != a.amount || pi.currency != a.currency) {
    log::error("sync.amount_mismatch", {{"operation_id", op.id},
                                        {"payment_intent", pi.id},
                                        {"expected", a.amount},
                                        {"stripe", pi.amount}});
  }
  detail::AttemptTarget t;
  t.event = detail::event_for(v.kind, a);
  t.payment_intent_id = pi.id;
  if (v.kind == detail::Verdict::Kind::Authorized) {
    t.needs_capture = true;
    t.capturable = pi.amount_capturable;
  }
  if (v.kind == detail::Verdict::Kind::Declined) {
    t.decline_code = v.decline_code;
    t.failure_message = v.message;
  }
  auto p = plan(a, t);
  if (!p) {
    failure(rep, op, p.error(), nullptr);
    return;
  }
  if (v.kind == detail::Verdict::Kind::Unknown) {
    Error e{ErrorKind::OutcomeUnknown, "PaymentIntent " + pi.id + " is " + pi.status_text + "; checking again later",
            std::nullopt};
    failure(rep, op, e, &*p);
    return;
  }
  complete(rep, op, &*p, pi.id, req_id,
           std::string(detail::to_string(v.kind)) + (v.decline_code.empty() ? "" : " (" + v.decline_code + ")"));
}

// One PaymentIntent operation, top to bottom in the order that keeps it exactly once: the checks
// that send nothing (attempt gone, wrong account, already final), forwarding made durable, the
// look-ups (by id, then by metadata past the key-retention margin), and only then the same-key
// send and what its answer means. Kept as one function (~110 lines) so that order reads in one
// place; the steps it calls (apply_payment_intent, search_for, failure) are separate.
asio::awaitable<void> Engine::Impl::process_payment(OperationReport& rep, pos::OutboxOperation op) {
  auto got = ledger.attempt(op.attempt_id);
  if (!got) {
    if (got.error().kind == ErrorKind::NotFound) {
      dead(rep, op, nullptr, "the operation's payment attempt " + op.attempt_id + " does not exist", {});
    } else {
      failure(rep, op, got.error(), nullptr);
    }
    co_return;
  }
  pos::PaymentAttempt a = std::move(*got);
  if (a.account_id != op.account_id) {
    // The store refuses this at enqueue; checked again because sending it would move money to
    // the wrong merchant.
    dead(rep, op, nullptr,
         "operation account " + op.account_id + " differs from the attempt's " + a.account_id + "; not sent", {});
    co_return;
  }
  const bool confirm_requested = body_field(op.body, "confirm").value_or("") == "true";
  if (pos::is_final(a.state)) {
    // Stripe's answer already arrived (by webhook, or an earlier run recorded the attempt but
    // not the operation): nothing to send.
    complete(rep, op, nullptr, a.payment_intent_id, {}, "already " + std::string(pos::to_string(a.state)));
    co_return;
  }
  if (a.state == AttemptState::StoredOffline || a.state == AttemptState::Collecting) {
    // Forwarding: durable before the request leaves.
    LedgerChange forward;
    forward.attempt.emplace();
    forward.attempt->attempt_id = a.id;
    forward.attempt->event =
        a.state == AttemptState::StoredOffline ? pos::AttemptEvent::Forwarded : pos::AttemptEvent::Submitted;
    auto fwd = ledger.commit(forward);
    if (!fwd) {
      failure(rep, op, fwd.error(), nullptr);
      co_return;
    }
    if (fwd->attempt) a.state = fwd->attempt->to;
  }

  // Resolve before re-sending: a known PaymentIntent is retrieved, never re-created.
  if (!a.payment_intent_id.empty()) {
    rep.looked_up = true;
    auto pi = co_await client.async_retrieve_payment_intent(a.payment_intent_id, read_options(op));
    if (!pi) {
      failure(rep, op, pi.error().kind == ErrorKind::NotFound ? Error{ErrorKind::Internal, pi.error().message,
                                                                      pi.error().stripe}
                                                              : pi.error(),
              nullptr);
      co_return;
    }
    apply_payment_intent(rep, op, a, *pi, {}, confirm_requested);
    co_return;
  }
  const Timestamp now = clock.now();
  if (op.attempts > 1 && op.first_sent_at && now - *op.first_sent_at >= config.key_retention_margin) {
    // The key may have been pruned: the same key could now create a second PaymentIntent.
    rep.looked_up = true;
    auto found = co_await search_for(op, a);
    if (!found) {
      failure(rep, op, found.error(), nullptr);
      co_return;
    }
    if (*found) {
      log::info("sync.resolved_by_lookup", {{"operation_id", op.id}, {"payment_intent", (*found)->id}});
      apply_payment_intent(rep, op, a, **found, {}, confirm_requested);
      co_return;
    }
    log::info("sync.lookup_found_nothing", {{"operation_id", op.id}, {"sale_id", op.sale_id}});
  }

  rep.sent = true;
  auto r = co_await client.async_request_encoded(op.method, op.path, op.body, options_for(op));
  if (!r) r = fail(detail::normalized(r.error()));
  if (r) {
    auto pi = parse_payment_intent(r->body);
    if (!pi) {
      failure(rep, op, Error{ErrorKind::OutcomeUnknown, "unreadable PaymentIntent: " + pi.error().message, {}},
              nullptr);
      co_return;
    }
    apply_payment_intent(rep, op, a, *pi, r->request_id, confirm_requested);
    co_return;
  }
  const Error& e = r.error();
  if (e.kind == ErrorKind::Declined) {
    detail::AttemptTarget t;
    t.event = pos::AttemptEvent::StripeDeclined;
    t.payment_intent_id = e.stripe ? e.stripe->payment_intent_id : std::string();
    t.decline_code = e.stripe ? (!e.stripe->decline_code.empty() ? e.stripe->decline_code : e.stripe->code)
                              : std::string();
    t.failure_message = e.message;
    auto p = plan(a, t);
    if (!p) {
      failure(rep, op, p.error(), nullptr);
      co_return;
    }
    complete(rep, op, &*p, t.payment_intent_id, detail::request_id(e), "declined (" + t.decline_code + ")");
    co_return;
  }
  if (e.kind == ErrorKind::OutcomeUnknown) {
    detail::AttemptTarget t;
    t.event = pos::AttemptEvent::NoAnswer;
    auto p = plan(a, t);
    if (!p) {
      failure(rep, op, p.error(), nullptr);
      co_return;
    }
    failure(rep, op, e, &*p);
    co_return;
  }
  failure(rep, op, e, nullptr);
}

// PaymentIntents of this attempt, found by metadata (search), best first; nullopt when none.
asio::awaitable<Result<std::optional<PaymentIntent>>> Engine::Impl::search_for(const pos::OutboxOperation& op,
                                                                               const pos::PaymentAttempt& a) {
  std::vector<PaymentIntent> matches;
  std::string page;
  for (int pages = 0; pages < 20; ++pages) {
    auto r = co_await client.async_search_payment_intents(search_query_metadata("sale_id", a.sale_id),
                                                          read_options(op), 100, page);
    if (!r) co_return fail(r.error());
    for (auto& pi : r->data) {
      const std::string* n = pi.metadata_value("attempt");
      if (n != nullptr && *n == std::to_string(a.number)) matches.push_back(std::move(pi));
    }
    if (!r->has_more || r->next_page.empty()) break;
    page = r->next_page;
  }
  if (matches.empty()) co_return std::optional<PaymentIntent>{};
  std::stable_sort(matches.begin(), matches.end(),
                   [](const PaymentIntent& x, const PaymentIntent& y) { return rank(x) > rank(y); });
  if (matches.size() > 1) {
    std::string ids;
    for (const auto& m : matches) ids += (ids.empty() ? "" : ",") + m.id;
    log::error("sync.duplicate_payment_intents", {{"attempt_id", a.id}, {"payment_intents", ids}});
    LedgerChange note;
    note.audit.push_back(AuditNote{config.actor, "sync.duplicate_payment_intents", a.id, ids});
    (void)ledger.commit(note);  // the log line above already says it; the audit entry is a copy
  }
  co_return std::optional<PaymentIntent>(std::move(matches.front()));
}

}  // namespace till::sync
