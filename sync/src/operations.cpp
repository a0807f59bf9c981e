#include "till/sync/operations.hpp"

#include <charconv>

#include "till/pos/money.hpp"
#include "till/sync/form.hpp"

namespace till::sync {

namespace {

std::optional<std::int64_t> parse_i64(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty()) return std::nullopt;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Status check_attempt(const pos::PaymentAttempt& a, std::string_view key) {
  if (a.account_id.empty()) {
    return fail(ErrorKind::InvalidArgument, "attempt " + a.id + " has no connected account");
  }
  if (key.empty()) return fail(ErrorKind::InvalidArgument, "an operation needs its idempotency key");
  if (key.size() > 255) return fail(ErrorKind::InvalidArgument, "idempotency key longer than 255 characters");
  return ok();
}

pos::OutboxOperation base_op(pos::OperationKind kind, const pos::PaymentAttempt& a, std::string path,
                             std::string body, std::string key, Timestamp now) {
  pos::OutboxOperation op;
  op.kind = kind;
  op.sale_id = a.sale_id;
  op.attempt_id = a.id;
  op.account_id = a.account_id;  // never the configured account (Connect safety)
  op.method = "POST";
  op.path = std::move(path);
  op.body = std::move(body);
  op.idempotency_key = std::move(key);
  op.next_attempt_at = now;
  op.created_at = now;
  op.updated_at = now;
  return op;
}

bool valid_pi_id(std::string_view id) {
  if (!id.starts_with("pi_") || id.size() > 255) return false;
  for (char c : id) {
    const bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!okc) return false;
  }
  return true;
}

}  // namespace

Result<std::int64_t> FeeRule::fee_for(std::int64_t amount) const {
  if (amount < 0) return fail(ErrorKind::InvalidArgument, "negative amount");
  if (fixed < 0 || basis_points < 0 || basis_points > 10'000) {
    return fail(ErrorKind::InvalidArgument, "fee rule must be fixed >= 0 and 0..10000 basis points");
  }
  auto pct = pos::mul_div_round_half_up(amount, basis_points, 10'000);
  if (!pct) return fail(pct.error());
  auto total = pos::checked_add(*pct, fixed);
  if (!total) return fail(total.error());
  return std::min(*total, amount);
}

Result<FeeRule> FeeRule::parse(std::string_view text) {
  FeeRule r;
  const auto bad = [&] {
    return fail(ErrorKind::InvalidArgument,
                "fee rule '" + std::string(text) + "' must look like 30+290bp, 290bp or 30");
  };
  std::string_view fixed_part = text;
  std::string_view bp_part;
  if (const auto plus = text.find('+'); plus != std::string_view::npos) {
    fixed_part = text.substr(0, plus);
    bp_part = text.substr(plus + 1);
    if (!bp_part.ends_with("bp")) return bad();
  } else if (text.ends_with("bp")) {
    fixed_part = {};
    bp_part = text;
  }
  if (!fixed_part.empty()) {
    auto f = parse_i64(fixed_part);
    if (!f || *f < 0) return bad();
    r.fixed = *f;
  } else if (bp_part.empty()) {
    return bad();
  }
  if (!bp_part.empty()) {
    auto b = parse_i64(bp_part.substr(0, bp_part.size() - 2));
    if (!b || *b < 0 || *b > 10'000) return bad();
    r.basis_points = *b;
  }
  return r;
}

std::string FeeRule::to_string() const {
  return std::to_string(fixed) + "+" + std::to_string(basis_points) + "bp";
}

Result<pos::OutboxOperation> make_payment_intent_operation(const pos::Sale& sale, const pos::PaymentAttempt& a,
                                                           const PaymentIntentOptions& options, Timestamp now) {
  if (auto c = check_attempt(a, a.idempotency_key); !c) return fail(c.error());
  if (a.tender != pos::TenderKind::Card) {
    return fail(ErrorKind::InvalidArgument, "attempt " + a.id + " is not a card payment");
  }
  if (a.sale_id != sale.id) {
    return fail(ErrorKind::InvalidArgument, "attempt " + a.id + " belongs to sale " + a.sale_id + ", not " + sale.id);
  }
  if (a.amount <= 0 || a.currency.empty()) {
    return fail(ErrorKind::InvalidArgument, "attempt " + a.id + " needs a positive amount and a currency");
  }
  if (a.payment_method.empty() && !options.server_driven) {
    return fail(ErrorKind::InvalidArgument, "attempt " + a.id + " has no payment method token from the reader");
  }
  const std::string& cm = options.capture_method;
  if (cm != "automatic" && cm != "automatic_async" && cm != "manual") {
    return fail(ErrorKind::InvalidArgument, "capture_method must be automatic, automatic_async or manual");
  }
  auto fee = options.fee.fee_for(a.amount);
  if (!fee) return fail(fee.error());

  FormParams p;
  p.add("amount", FormValue(a.amount));
  p.add("currency", a.currency);
  p.add("allowed_payment_method_types", FormValue::array({FormValue("card_present")}));
  if (!options.server_driven) {
    p.add("payment_method", a.payment_method);
    p.add("confirm", true);
  }
  p.add("capture_method", cm);
  p.add("application_fee_amount", FormValue(*fee));
  p.add("metadata", FormValue::object({{"sale_id", FormValue(sale.id)},
                                       {"register_id", FormValue(sale.register_id)},
                                       {"attempt", FormValue(a.number)}}));
  p.add("description", options.description.empty() ? "Till sale " + sale.id : options.description);
  return base_op(pos::OperationKind::CreatePaymentIntent, a, "/v1/payment_intents", encode(p), a.idempotency_key,
                 now);
}

Result<pos::OutboxOperation> make_capture_operation(const pos::PaymentAttempt& a, std::string_view payment_intent,
                                                    std::optional<std::int64_t> amount_to_capture,
                                                    std::string idempotency_key, Timestamp now) {
  if (auto c = check_attempt(a, idempotency_key); !c) return fail(c.error());
  if (!valid_pi_id(payment_intent)) return fail(ErrorKind::InvalidArgument, "capture needs a PaymentIntent id");
  FormParams p;
  if (amount_to_capture) {
    if (*amount_to_capture <= 0) return fail(ErrorKind::InvalidArgument, "amount_to_capture must be positive");
    p.add("amount_to_capture", FormValue(*amount_to_capture));
  }
  return base_op(pos::OperationKind::Capture, a, "/v1/payment_intents/" + std::string(payment_intent) + "/capture",
                 encode(p), std::move(idempotency_key), now);
}

Result<pos::OutboxOperation> make_cancel_operation(const pos::PaymentAttempt& a, std::string_view payment_intent,
                                                   std::string_view reason, std::string idempotency_key,
                                                   Timestamp now) {
  if (auto c = check_attempt(a, idempotency_key); !c) return fail(c.error());
  if (!valid_pi_id(payment_intent)) return fail(ErrorKind::InvalidArgument, "cancel needs a PaymentIntent id");
  if (!reason.empty() && reason != "duplicate" && reason != "fraudulent" && reason != "requested_by_customer" &&
      reason != "abandoned") {
    return fail(ErrorKind::InvalidArgument, "unknown cancellation_reason '" + std::string(reason) + "'");
  }
  FormParams p;
  if (!reason.empty()) p.add("cancellation_reason", std::string(reason));
  return base_op(pos::OperationKind::Cancel, a, "/v1/payment_intents/" + std::string(payment_intent) + "/cancel",
                 encode(p), std::move(idempotency_key), now);
}

Result<pos::OutboxOperation> make_refund_operation(const pos::PaymentAttempt& a, std::string_view payment_intent,
                                                   const RefundRequest& r, std::string idempotency_key, Timestamp now) {
  if (auto c = check_attempt(a, idempotency_key); !c) return fail(c.error());
  if (!valid_pi_id(payment_intent)) return fail(ErrorKind::InvalidArgument, "a refund needs a PaymentIntent id");
  if (r.amount && *r.amount <= 0) return fail(ErrorKind::InvalidArgument, "refund amount must be positive");
  if (r.amount && *r.amount > a.amount) {
    return fail(ErrorKind::InvalidArgument, "refund amount exceeds the payment");
  }
  if (!r.reason.empty() && r.reason != "duplicate" && r.reason != "fraudulent" && r.reason != "requested_by_customer") {
    return fail(ErrorKind::InvalidArgument, "unknown refund reason '" + r.reason + "'");
  }
  FormParams p;
  p.add("payment_intent", std::string(payment_intent));
  if (r.amount) p.add("amount", FormValue(*r.amount));
  if (!r.reason.empty()) p.add("reason", r.reason);
  if (r.refund_application_fee) p.add("refund_application_fee", *r.refund_application_fee);
  p.add("metadata", FormValue::object({{"sale_id", FormValue(a.sale_id)}, {"attempt", FormValue(a.number)}}));
  return base_op(pos::OperationKind::Refund, a, "/v1/refunds", encode(p), std::move(idempotency_key), now);
}

std::string capture_key_for(const pos::PaymentAttempt& a) { return "till-capture-" + a.idempotency_key; }
std::string cancel_key_for(const pos::PaymentAttempt& a) { return "till-cancel-" + a.idempotency_key; }

std::optional<std::string> body_field(std::string_view body, std::string_view key) {
  auto flat = decode(body);
  if (!flat) return std::nullopt;
  for (const auto& [k, v] : *flat) {
    if (k == key) return v;
  }
  return std::nullopt;
}

}  // namespace till::sync
