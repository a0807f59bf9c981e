// The refund arithmetic: what a refund body asks for, what is left of a payment, and the limit
// every refund meets at enqueue (OutboxRepository) and on the refund screen (ReportQueries).
#include <charconv>

#include "rows.hpp"
#include "tables.hpp"

namespace till::store::detail {

AskedAmount refund_amount(std::string_view body) {
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view field = body.substr(start, end - start);
    if (field.starts_with("amount=")) {
      std::int64_t v = 0;
      const std::string_view digits = field.substr(7);
      const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (r.ec == std::errc() && r.ptr == digits.data() + digits.size() && v > 0) return {true, v};
      return {true, std::nullopt};
    }
    start = end + 1;
  }
  return {};
}

PaymentRefunds refunds_of(const pos::PaymentAttempt& a, const std::vector<pos::OutboxOperation>& refunds) {
  PaymentRefunds p;
  p.attempt = a;
  p.attempt.payment_method.clear();
  p.captured = (a.tender == pos::TenderKind::Card && a.state == pos::AttemptState::Approved) ? a.amount : 0;
  std::optional<bool> full_done;  // a full refund: done or still pending
  for (const auto& o : refunds) {
    if (o.attempt_id != a.id) continue;
    const bool done = o.state == pos::OutboxState::Done;
    if (const AskedAmount amount = refund_amount(o.body); amount.value) {
      (done ? p.refunded : p.refund_pending) += *amount.value;
    } else {
      // A full refund, or (never written by Till) an amount that does not parse: counted as
      // everything that was left, the side that never refunds twice.
      full_done = full_done.value_or(false) || done;
    }
  }
  if (full_done) {
    const std::int64_t rest = p.refundable();
    (*full_done ? p.refunded : p.refund_pending) += rest;
  }
  return p;
}

Status check_refund(Connection& c, const pos::PaymentAttempt& a, const pos::OutboxOperation& op) {
  if (a.tender != pos::TenderKind::Card || a.state != pos::AttemptState::Approved) {
    return fail(ErrorKind::FailedPrecondition,
                "attempt " + a.id + " is a " + std::string(tender_name(a.tender)) + " payment in state " +
                    std::string(pos::to_string(a.state)) + ": only an approved card payment can be refunded");
  }
  auto existing = refund_operations(c, a.sale_id);
  if (!existing) return fail(existing.error());
  const PaymentRefunds p = refunds_of(a, *existing);
  const AskedAmount amount = refund_amount(op.body);
  if (amount.present && !amount.value) {
    return fail(ErrorKind::InvalidArgument, "a refund amount is a positive whole number of minor units");
  }
  const std::optional<std::int64_t> asked = amount.value;
  const std::int64_t want = asked.value_or(p.refundable());
  if (want <= 0 || want > p.refundable()) {
    return fail(ErrorKind::FailedPrecondition,
                "refund of " + (asked ? std::to_string(*asked) : std::string("the rest")) +
                    " exceeds what is left of attempt " + a.id + ": " + std::to_string(p.refundable()) + " of " +
                    std::to_string(p.captured) + " captured (" + std::to_string(p.refunded) + " refunded, " +
                    std::to_string(p.refund_pending) + " in refunds not yet confirmed)");
  }
  return ok();
}

}  // namespace till::store::detail
