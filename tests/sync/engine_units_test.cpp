// Pure parts of the sync engine (issue 4): the operation builders and fee rule, the mapping of a
// PaymentIntent to an attempt verdict, and reconciliation.

#include <catch2/catch.hpp>

#include "../../sync/src/attempt_plan.hpp"
#include "engine_fixture.hpp"
#include "till/sync/reconcile.hpp"

using namespace till;
using namespace till::sync;
using namespace till::sync::testing;
using pos::AttemptState;

namespace {

pos::PaymentAttempt attempt_for(const pos::Sale& s) {
  pos::PaymentAttempt a;
  a.id = "att-1";
  a.sale_id = s.id;
  a.number = 2;
  a.amount = s.total;
  a.currency = "usd";
  a.account_id = kAccount;
  a.idempotency_key = "key-1";
  a.payment_method = "pm_card_visa";
  return a;
}

PaymentIntent pi(const std::string& id, PaymentIntentStatus status, std::int64_t amount, const std::string& sale,
                 const std::string& attempt = "1") {
  PaymentIntent p;
  p.id = id;
  p.status = status;
  p.status_text = std::string(to_string(status));
  p.amount = amount;
  p.amount_capturable = status == PaymentIntentStatus::RequiresCapture ? amount : 0;
  p.currency = "usd";
  p.metadata = {{"sale_id", sale}, {"register_id", "reg-1"}, {"attempt", attempt}};
  return p;
}

LocalPayment local(const std::string& sale, AttemptState state, std::int64_t amount, const std::string& pi_id = {}) {
  return LocalPayment{sale, "reg-1", "att-" + sale, 1, kAccount, amount, "usd", state, pi_id};
}

std::vector<ReconcileFinding::Kind> kinds(const ReconcileReport& r) {
  std::vector<ReconcileFinding::Kind> out;
  for (const auto& f : r.findings) out.push_back(f.kind);
  return out;
}

}  // namespace

TEST_CASE("the PaymentIntent operation carries exactly the listed params, in order, with the attempt's key and "
          "account",
          "[engine-units]") {
  const pos::Sale s = make_sale("sale-1", kAccount, 2000, Timestamp{});
  const auto a = attempt_for(s);
  PaymentIntentOptions o;
  o.fee = FeeRule{30, 290};
  const auto op = make_payment_intent_operation(s, a, o, from_unix_ms(1000)).value();
  CHECK(op.kind == pos::OperationKind::CreatePaymentIntent);
  CHECK(op.method == "POST");
  CHECK(op.path == "/v1/payment_intents");
  CHECK(op.account_id == kAccount);
  CHECK(op.idempotency_key == "key-1");
  CHECK(op.sale_id == "sale-1");
  CHECK(op.attempt_id == "att-1");
  CHECK(op.next_attempt_at == from_unix_ms(1000));
  CHECK(op.body ==
        "amount=2000&currency=usd&allowed_payment_method_types[0]=card_present&payment_method=pm_card_visa"
        "&confirm=true&capture_method=automatic&application_fee_amount=88&metadata[sale_id]=sale-1"
        "&metadata[register_id]=reg-1&metadata[attempt]=2&description=Till%20sale%20sale-1");
  CHECK(body_field(op.body, "application_fee_amount") == "88");
  CHECK(body_field(op.body, "description") == "Till sale sale-1");
  CHECK_FALSE(body_field(op.body, "nothing").has_value());
}

TEST_CASE("a server-driven PaymentIntent operation is the same body without payment_method and confirm",
          "[engine-units]") {
  const pos::Sale s = make_sale("sale-1", kAccount, 2000, Timestamp{});
  auto a = attempt_for(s);
  a.payment_method.clear();  // a smart reader collects the card itself
  PaymentIntentOptions o;
  o.fee = FeeRule{30, 290};
  o.capture_method = "manual";
  CHECK_FALSE(make_payment_intent_operation(s, a, o, from_unix_ms(1000)));  // a token is needed otherwise
  o.server_driven = true;
  const auto op = make_payment_intent_operation(s, a, o, from_unix_ms(1000)).value();
  CHECK(op.kind == pos::OperationKind::CreatePaymentIntent);
  CHECK(op.idempotency_key == "key-1");
  CHECK(op.account_id == kAccount);
  CHECK(op.body ==
        "amount=2000&currency=usd&allowed_payment_method_types[0]=card_present&capture_method=manual"
        "&application_fee_amount=88&metadata[sale_id]=sale-1&metadata[register_id]=reg-1&metadata[attempt]=2"
        "&description=Till%20sale%20sale-1");
  CHECK_FALSE(body_field(op.body, "confirm").has_value());
}

TEST_CASE("operation builders refuse what cannot be sent safely", "[engine-units]") {
  const pos::Sale s = make_sale("sale-1", kAccount, 2000, Timestamp{});
  auto a = attempt_for(s);
  const Timestamp t{};
  auto no_pm = a;
  no_pm.payment_method.clear();
  CHECK_FALSE(make_payment_intent_operation(s, no_pm, {}, t));
  auto no_key = a;
  no_key.idempotency_key.clear();
  CHECK_FALSE(make_payment_intent_operation(s, no_key, {}, t));
  auto no_account = a;
  no_account.account_id.clear();
  CHECK_FALSE(make_payment_intent_operation(s, no_account, {}, t));
  auto cash = a;
  cash.tender = pos::TenderKind::Cash;
  CHECK_FALSE(make_payment_intent_operation(s, cash, {}, t));
  auto other_sale = a;
  other_sale.sale_id = "sale-2";
  CHECK_FALSE(make_payment_intent_operation(s, other_sale, {}, t));
  PaymentIntentOptions bad;
  bad.capture_method = "later";
  CHECK_FALSE(make_payment_intent_operation(s, a, bad, t));
  CHECK_FALSE(make_capture_operation(a, "ch_123", std::nullopt, "k", t));
  CHECK_FALSE(make_capture_operation(a, "pi_1/../x", std::nullopt, "k", t));
  CHECK_FALSE(make_cancel_operation(a, "pi_1", "because", "k", t));
  CHECK_FALSE(make_refund_operation(a, "pi_1", RefundRequest{a.amount + 1, "", {}}, "k", t));
  CHECK_FALSE(make_refund_operation(a, "pi_1", RefundRequest{0, "", {}}, "k", t));
  CHECK(make_cancel_operation(a, "pi_1", "abandoned", "k", t).value().body == "cancellation_reason=abandoned");
  CHECK(make_capture_operation(a, "pi_1", 1500, "k", t).value().path == "/v1/payment_intents/pi_1/capture");
  const auto refund = make_refund_operation(a, "pi_1", RefundRequest{500, "requested_by_customer", false}, "k", t).value();
  CHECK(refund.body ==
        "payment_intent=pi_1&amount=500&reason=requested_by_customer&refund_application_fee=false"
        "&metadata[sale_id]=sale-1&metadata[attempt]=2");
}

TEST_CASE("fee rules: fixed plus basis points, rounded half up, never above the amount", "[engine-units]") {
  CHECK(FeeRule{30, 290}.fee_for(1000).value() == 59);
  CHECK(FeeRule{0, 250}.fee_for(2).value() == 0);    // 0.05 rounds down
  CHECK(FeeRule{0, 250}.fee_for(20).value() == 1);   // 0.5 rounds up
  CHECK(FeeRule{100, 0}.fee_for(60).value() == 60);  // capped at the amount
  CHECK_FALSE(FeeRule{-1, 0}.fee_for(100));
  CHECK(FeeRule::parse("30+290bp").value() == FeeRule{30, 290});
  CHECK(FeeRule::parse("290bp").value() == FeeRule{0, 290});
  CHECK(FeeRule::parse("45").value() == FeeRule{45, 0});
  CHECK_FALSE(FeeRule::parse(""));
  CHECK_FALSE(FeeRule::parse("2.9%"));
  CHECK_FALSE(FeeRule::parse("30+bp"));
  CHECK_FALSE(FeeRule::parse("30+20000bp"));
  CHECK(FeeRule{30, 290}.to_string() == "30+290bp");
}

TEST_CASE("a PaymentIntent's status maps to an attempt verdict; unknown states stay in doubt", "[engine-units]") {
  using detail::Verdict;
  CHECK(detail::verdict_for(pi("pi_1", PaymentIntentStatus::Succeeded, 100, "s"), true).kind == Verdict::Kind::Approved);
  CHECK(detail::verdict_for(pi("pi_1", PaymentIntentStatus::RequiresCapture, 100, "s"), true).kind ==
        Verdict::Kind::Authorized);
  CHECK(detail::verdict_for(pi("pi_1", PaymentIntentStatus::Canceled, 100, "s"), true).kind == Verdict::Kind::Canceled);
  CHECK(detail::verdict_for(pi("pi_1", PaymentIntentStatus::Processing, 100, "s"), true).kind == Verdict::Kind::Unknown);
  CHECK(detail::verdict_for(pi("pi_1", PaymentIntentStatus::Unknown, 100, "s"), true).kind == Verdict::Kind::Unknown);
  auto declined = pi("pi_1", PaymentIntentStatus::RequiresPaymentMethod, 100, "s");
  CHECK(detail::verdict_for(declined, true).kind == Verdict::Kind::Unknown);  // no error: not a decline
  CHECK(detail::verdict_for(declined, false).kind == Verdict::Kind::Created);
  declined.last_payment_error = StripeApiError{"card_error", "card_declined", "insufficient_funds", "No.", {}, {}, {}, {}};
  const auto v = detail::verdict_for(declined, true);
  CHECK(v.kind == Verdict::Kind::Declined);
  CHECK(v.decline_code == "insufficient_funds");
}

TEST_CASE("reconcile: clean when both sides agree", "[engine-units]") {
  const auto rep = reconcile({local("s1", AttemptState::Approved, 100, "pi_1")},
                             {{kAccount, pi("pi_1", PaymentIntentStatus::Succeeded, 100, "s1")}},
                             [](const std::string&) { return true; }, {"reg-1"});
  CHECK(rep.clean());
  CHECK(rep.matched == 1);
}

TEST_CASE("reconcile reports duplicates, amount mismatches, uncaptured authorizations, and missing payments on "
          "either side",
          "[engine-units]") {
  using K = ReconcileFinding::Kind;
  const std::vector<LocalPayment> locals{
      local("dup", AttemptState::Approved, 100, "pi_d1"),
      local("amt", AttemptState::Approved, 100, "pi_a"),
      local("auth", AttemptState::Approved, 300, "pi_c"),
      local("gone", AttemptState::Approved, 400, "pi_g"),
      local("doubt", AttemptState::InDoubt, 500),
      local("declined", AttemptState::Declined, 600),
  };
  const std::vector<RemotePayment> remote{
      {kAccount, pi("pi_d1", PaymentIntentStatus::Succeeded, 100, "dup")},
      {kAccount, pi("pi_d2", PaymentIntentStatus::Succeeded, 100, "dup")},
      {kAccount, pi("pi_a", PaymentIntentStatus::Succeeded, 150, "amt")},
      {kAccount, pi("pi_c", PaymentIntentStatus::RequiresCapture, 300, "auth")},
      {kAccount, pi("pi_x", PaymentIntentStatus::Succeeded, 500, "doubt")},
      {kAccount, pi("pi_y", PaymentIntentStatus::RequiresPaymentMethod, 600, "declined")},
      {kAccount, pi("pi_u", PaymentIntentStatus::Succeeded, 700, "unknown-sale")},
      {kAccount, [] {
         auto p = pi("pi_o", PaymentIntentStatus::Succeeded, 800, "other-register");
         p.metadata[1].second = "reg-2";
         return p;
       }()},
  };
  const auto rep = reconcile(locals, remote, [](const std::string& id) { return id != "unknown-sale"; }, {"reg-1"});
  const auto k = kinds(rep);
  const auto has = [&](K kind, const std::string& sale) {
    return std::any_of(rep.findings.begin(), rep.findings.end(),
                       [&](const ReconcileFinding& f) { return f.kind == kind && f.sale_id == sale; });
  };
  CHECK(has(K::Duplicate, "dup"));
  CHECK(has(K::AmountMismatch, "amt"));
  CHECK(has(K::AuthorizedNotCaptured, "auth"));
  CHECK(has(K::MissingAtStripe, "gone"));
  CHECK(has(K::StateMismatch, "doubt"));
  CHECK(has(K::MissingLocally, "unknown-sale"));
  CHECK_FALSE(has(K::StateMismatch, "declined"));  // a declined PI and a declined attempt agree
  for (const auto& f : rep.findings) CHECK(f.sale_id != "other-register");  // another register's sale
  CHECK(rep.findings.size() == 6);
  CHECK(rep.matched == 2);  // auth (also flagged as uncaptured) and declined
}
