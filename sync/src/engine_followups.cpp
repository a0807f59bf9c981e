// The operations that follow a payment: captures (never of an abandoned authorization: it is
// looked up and cancelled instead), cancels, refunds, and anything else sent as stored.
#include <boost/asio/use_awaitable.hpp>

#include "engine_impl.hpp"
#include "till/base/log.hpp"
#include "till/sync/operations.hpp"

namespace till::sync {

namespace asio = boost::asio;
using pos::AttemptState;
using pos::OperationKind;
using Outcome = OperationReport::Outcome;

namespace {

std::string json_id(std::string_view body) {
  // The "id" of a JSON object, without a full parse (used for operations Till has no type for).
  const auto k = body.find("\"id\"");
  if (k == std::string_view::npos) return {};
  const auto q1 = body.find('"', body.find(':', k) + 1);
  if (q1 == std::string_view::npos) return {};
  const auto q2 = body.find('"', q1 + 1);
  if (q2 == std::string_view::npos) return {};
  return std::string(body.substr(q1 + 1, q2 - q1 - 1));
}

}  // namespace

asio::awaitable<void> Engine::Impl::process_capture(OperationReport& rep, pos::OutboxOperation op) {
  std::optional<pos::PaymentAttempt> a;
  if (!op.attempt_id.empty()) {
    auto got = ledger.attempt(op.attempt_id);
    if (!got) {
      failure(rep, op, got.error(), nullptr);
      co_return;
    }
    a = std::move(*got);
  }
  auto sale = ledger.sale(op.sale_id);
  if (!sale) {
    failure(rep, op, sale.error(), nullptr);
    co_return;
  }
  const bool abandoned = (a && a->state == AttemptState::Canceled) || sale->state == pos::SaleState::Voided;
  if (abandoned && a) {
    // Never capture an abandoned authorization: find out where it stands, then cancel it.
    rep.looked_up = true;
    auto pi = co_await client.async_retrieve_payment_intent(a->payment_intent_id, read_options(op));
    if (!pi) {
      failure(rep, op, pi.error(), nullptr);
      co_return;
    }
    if (pi->status == PaymentIntentStatus::RequiresCapture) {
      auto cancel = make_cancel_operation(*a, pi->id, "abandoned", cancel_key_for(*a), clock.now());
      if (!cancel) {
        dead(rep, op, nullptr, cancel.error().describe(), {});
        co_return;
      }
      auto existing = ledger.operations_for_sale(op.sale_id);
      bool queued = false;
      if (existing) {
        for (const auto& o : *existing) queued = queued || o.idempotency_key == cancel->idempotency_key;
      }
      LedgerChange extra;
      if (!queued) extra.enqueue.push_back(*cancel);
      extra.audit.push_back(AuditNote{config.actor, "capture.skipped_abandoned", a->id, pi->id});
      complete(rep, op, nullptr, pi->id, {}, "abandoned authorization: not captured, cancel queued", std::move(extra));
      co_return;
    }
    complete(rep, op, nullptr, pi->id, {}, "abandoned; PaymentIntent is " + pi->status_text);
    co_return;
  }
  rep.sent = true;
  auto r = co_await client.async_request_encoded(op.method, op.path, op.body, options_for(op));
  if (!r) {
    failure(rep, op, r.error(), nullptr);
    co_return;
  }
  auto pi = parse_payment_intent(r->body);
  if (!pi) {
    failure(rep, op, Error{ErrorKind::OutcomeUnknown, "unreadable capture answer: " + pi.error().message, {}},
            nullptr);
    co_return;
  }
  if (pi->status == PaymentIntentStatus::Succeeded) {
    complete(rep, op, nullptr, pi->id, r->request_id, "captured " + std::to_string(pi->amount_received));
    co_return;
  }
  if (pi->status == PaymentIntentStatus::Canceled && a) {
    auto p = plan(*a, detail::AttemptTarget{pos::AttemptEvent::StripeCanceled, pi->id, {}, {}, false, 0});
    if (!p) {
      failure(rep, op, p.error(), nullptr);
      co_return;
    }
    complete(rep, op, &*p, pi->id, r->request_id, "PaymentIntent was canceled before capture");
    co_return;
  }
  failure(rep, op,
          Error{ErrorKind::OutcomeUnknown, "capture answered with status " + pi->status_text, std::nullopt},
          nullptr);
}

asio::awaitable<void> Engine::Impl::process_cancel(OperationReport& rep, pos::OutboxOperation op) {
  rep.sent = true;
  auto r = co_await client.async_request_encoded(op.method, op.path, op.body, options_for(op));
  if (!r) {
    failure(rep, op, r.error(), nullptr);
    co_return;
  }
  auto pi = parse_payment_intent(r->body);
  if (!pi) {
    failure(rep, op, Error{ErrorKind::OutcomeUnknown, "unreadable cancel answer: " + pi.error().message, {}},
            nullptr);
    co_return;
  }
  std::optional<detail::AttemptPlan> p;
  if (!op.attempt_id.empty() && pi->status == PaymentIntentStatus::Canceled) {
    auto a = ledger.attempt(op.attempt_id);
    if (a) {
      auto planned = plan(*a, detail::AttemptTarget{pos::AttemptEvent::StripeCanceled, pi->id, {}, {}, false, 0});
      if (!planned) {
        failure(rep, op, planned.error(), nullptr);
        co_return;
      }
      p = std::move(*planned);
    }
  }
  complete(rep, op, p ? &*p : nullptr, pi->id, r->request_id, "PaymentIntent " + pi->status_text);
}

asio::awaitable<void> Engine::Impl::process_refund(OperationReport& rep, pos::OutboxOperation op) {
  rep.sent = true;
  auto r = co_await client.async_request_encoded(op.method, op.path, op.body, options_for(op));
  if (!r) {
    failure(rep, op, r.error(), nullptr);
    co_return;
  }
  auto refund = parse_refund(r->body);
  if (!refund) {
    failure(rep, op, Error{ErrorKind::OutcomeUnknown, "unreadable refund answer: " + refund.error().message, {}},
            nullptr);
    co_return;
  }
  complete(rep, op, nullptr, refund->id, r->request_id,
           "refund " + refund->status + " " + std::to_string(refund->amount) + " " + refund->currency);
}

asio::awaitable<void> Engine::Impl::process_other(OperationReport& rep, pos::OutboxOperation op) {
  rep.sent = true;
  auto r = co_await client.async_request_encoded(op.method, op.path, op.body, options_for(op));
  if (!r) {
    failure(rep, op, r.error(), nullptr);
    co_return;
  }
  complete(rep, op, nullptr, json_id(r->body), r->request_id, "accepted");
}

asio::awaitable<OperationReport> Engine::Impl::process(pos::OutboxOperation op) {
  OperationReport rep = report_for(op);
  switch (op.kind) {
    case OperationKind::CreatePaymentIntent: co_await process_payment(rep, std::move(op)); break;
    case OperationKind::Capture: co_await process_capture(rep, std::move(op)); break;
    case OperationKind::Cancel: co_await process_cancel(rep, std::move(op)); break;
    case OperationKind::Refund: co_await process_refund(rep, std::move(op)); break;
    case OperationKind::ProcessPaymentIntent: co_await process_other(rep, std::move(op)); break;
  }
  co_return rep;
}

}  // namespace till::sync
