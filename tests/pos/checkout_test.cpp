// The checkout reducer: every flow of issue 6 with its effects compared exactly.
#include "till/pos/checkout.hpp"

#include <catch2/catch.hpp>

#include "till/base/random.hpp"

using namespace till;
using namespace till::pos;
using namespace std::chrono_literals;

namespace {

const Timestamp kT0 = from_unix_ms(1'790'000'000'000);

Catalog test_catalog() {
  auto c = Catalog::create(Currency::of("usd"),
                           {{"standard", "Sales tax 8.875%", 88'750}, {"reduced", "Food 2.25%", 22'500}},
                           {{"coffee", "Coffee"}, {"bakery", "Bakery"}},
                           {{"latte", "Latte", "COF-1", "2000000000011", 450, "standard", "coffee", false},
                            {"croissant", "Croissant", "BAK-1", "2000000000028", 325, "reduced", "bakery", false},
                            {"beans", "Beans 340g", "SHP-1", "2000000000035", 16000, "reduced", "bakery", false}});
  REQUIRE(c);
  return *c;
}

CardDetails visa() {
  CardDetails c;
  c.brand = "visa";
  c.last4 = "4242";
  c.exp_month_year = "12/28";
  c.read_method = "contact_emv";
  c.application_id = "A0000000031010";
  c.application_label = "VISA CREDIT";
  c.terminal_verification_results = "0000008000";
  c.cardholder_verification = "offline_pin";
  return c;
}

struct Till {
  Catalog catalog = test_catalog();
  SeededRandom random{2026};
  Context ctx{.now = kT0,
              .random = random,
              .register_id = "reg-1",
              .account_id = "acct_1Till",
              .currency = Currency::of("usd"),
              .catalog = catalog,
              .risk = RiskConfig::safe_defaults(),
              .merchant = Merchant{"Harbour Street Coffee", {"12 Harbour Street"}, ""},
              .manager_pin = "2468",
              .capture_method = "automatic"};
  Model m;

  Till() { dispatch(ReaderStatusChanged{true, "Simulated reader", ""}); }

  std::vector<Effect> dispatch(const Action& a) {
    Update u = update(m, a, ctx);
    m = std::move(u.model);
    return std::move(u.effects);
  }

  // The next n ids the reducer will draw, without disturbing its generator.
  std::vector<std::string> next_ids(int n) const {
    SeededRandom copy = random;
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(new_uuid_v4(copy));
    return out;
  }

  // Two lattes and a croissant: 900 + 80 tax, 325 + 7 tax (325 x 0.0225 = 7.3125 -> 7): 13.12.
  void ring_up() {
    dispatch(AddProduct{"latte", 2});
    dispatch(AddProduct{"croissant"});
    REQUIRE(m.totals.total == 1312);
  }

  const PaymentAttempt& attempt(std::size_t i) const { return m.attempts.at(i); }
};

// The intent the reducer emits for a card attempt: what to create, never the bytes (app/ builds
// those with sync/operations).
OperationIntent pi_operation(const PaymentAttempt& a, const std::string& pm, Timestamp at) {
  OperationIntent op;
  op.kind = OperationKind::CreatePaymentIntent;
  op.sale_id = a.sale_id;
  op.attempt_id = a.id;
  op.attempt_number = a.number;
  op.account_id = "acct_1Till";
  op.amount = a.amount;
  op.currency = "usd";
  op.payment_method = pm;
  op.capture_method = "automatic";
  op.idempotency_key = a.idempotency_key;
  op.at = at;
  return op;
}

template <class T>
std::size_t count_of(const std::vector<Effect>& effects) {
  return static_cast<std::size_t>(
      std::count_if(effects.begin(), effects.end(), [](const Effect& e) { return std::holds_alternative<T>(e); }));
}

}  // namespace

TEST_CASE("ringing up keeps totals current and emits no effects") {
  Till t;
  CHECK(t.dispatch(AddProduct{"latte"}).empty());
  CHECK(t.dispatch(AddProduct{"latte"}).empty());  // same product, no discount: one line, qty 2
  REQUIRE(t.m.cart.lines.size() == 1);
  CHECK(t.m.cart.lines[0].quantity == 2);
  CHECK(t.dispatch(ScanBarcode{"2000000000028\r\n"}).empty());  // wedge scanner adds Enter
  REQUIRE(t.m.cart.lines.size() == 2);
  CHECK(t.m.cart.lines[1].product_id == "croissant");
  CHECK(t.m.totals.total == 1312);
  CHECK(t.m.screen == Screen::Sell);

  t.dispatch(SetQuantity{0, 3});  // 1350 + 119.8125 -> 120 tax
  CHECK(t.m.totals.lines[0].gross == 1470);
  t.dispatch(SetLineDiscount{0, Discount::percent_ppm(100'000)});  // 135 off: 1215 + 107.83 -> 108
  CHECK(t.m.totals.lines[0].gross == 1323);
  t.dispatch(SetCartDiscount{Discount::amount(100)});
  CHECK(t.m.totals.discount_total == 235);
  t.dispatch(SetTip{150});
  CHECK(t.m.totals.tip == 150);
  t.dispatch(RemoveLine{1});
  REQUIRE(t.m.cart.lines.size() == 1);
  // Removing the last line also drops the cart discount, which has nothing left to apply to.
  t.dispatch(RemoveLine{0});
  CHECK(t.m.cart.cart_discount == Discount::none());
  CHECK(t.m.totals.total == 150);  // the tip stays until changed
}

TEST_CASE("invalid cart actions are rejected with a reason and change nothing else") {
  Till t;
  t.ring_up();
  const Model before = t.m;
  auto rejected = [&](const Action& a, const std::string& text) {
    CHECK(t.dispatch(a).empty());
    CHECK(t.m.notice == Notice{NoticeLevel::Warning, text, ""});
    Model expected = before;
    expected.notice = t.m.notice;
    CHECK(t.m == expected);
  };
  rejected(AddProduct{"tea"}, "Unknown product 'tea'");
  rejected(ScanBarcode{"999"}, "No product with barcode 999");
  rejected(SetQuantity{5, 1}, "No such line in the cart");
  rejected(SetQuantity{0, 0}, "Quantity must be at least 1 (remove the line instead)");
  rejected(SetLineDiscount{1, Discount::amount(326)}, "line 2 (Croissant): discount is larger than the amount it applies to");
  rejected(SetCartDiscount{Discount::percent_ppm(2'000'000)}, "cart: discount percent must be between 0 and 100");
  rejected(SetTip{-1}, "Tip must not be negative");
  rejected(RetryWithAnotherCard{}, "Nothing to retry: no declined or failed payment");
  rejected(CancelPayment{}, "No card payment in progress");
  rejected(NewSale{}, "Finish or void the current sale first");
}

TEST_CASE("charge persists the sale first, then creates the keyed attempt, then starts collecting") {
  Till t;
  t.ring_up();
  const auto ids = t.next_ids(3);  // sale id, attempt id, idempotency key
  const auto effects = t.dispatch(Charge{});

  Sale sale;
  sale.id = ids[0];
  sale.register_id = "reg-1";
  sale.account_id = "acct_1Till";
  sale.currency = "usd";
  sale.state = SaleState::Tendering;
  apply_totals(sale, t.m.totals);
  sale.created_at = kT0;
  sale.updated_at = kT0;
  PaymentAttempt a;
  a.id = ids[1];
  a.sale_id = ids[0];
  a.number = 1;
  a.tender = TenderKind::Card;
  a.state = AttemptState::Collecting;
  a.amount = 1312;
  a.currency = "usd";
  a.account_id = "acct_1Till";
  a.idempotency_key = ids[2];
  a.created_at = kT0;
  a.updated_at = kT0;

  const std::vector<Effect> expected = {PersistSale{sale}, CreateAttempt{a}, StartCollect{a.id, 1312, "usd", true}};
  CHECK(effects == expected);
  CHECK(sale.total == 1312);
  CHECK(sale.lines.size() == 2);
  CHECK(t.m.phase == PaymentPhase::Collecting);
  CHECK(t.m.screen == Screen::Payment);
  CHECK(t.m.active_attempt_id == a.id);
  CHECK(t.m.sale == sale);
}

TEST_CASE("charging twice, cash or cart edits during collection are rejected (lesson 15)") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const Model collecting = t.m;
  for (const Action& a : std::vector<Action>{Charge{}, PayCash{2000}, AddProduct{"latte"}, RemoveLine{0}, SetTip{100},
                                              VoidSale{}, RetryWithAnotherCard{}}) {
    CHECK(t.dispatch(a).empty());
    CHECK(t.m.phase == PaymentPhase::Collecting);
    CHECK(t.m.attempts == collecting.attempts);
    CHECK(t.m.cart == collecting.cart);
  }
  CHECK(t.m.notice.text == "Nothing to retry: no declined or failed payment");
  t.dispatch(Charge{});
  CHECK(t.m.notice.text == "A card payment is already in progress");
}

TEST_CASE("charge is refused without a reader or with an empty cart") {
  Till t;
  CHECK(t.dispatch(Charge{}).empty());
  CHECK(t.m.notice.text == "The cart is empty");
  t.ring_up();
  t.dispatch(ReaderStatusChanged{false, "", ""});
  CHECK(t.dispatch(Charge{}).empty());
  CHECK(t.m.notice.text == "No card reader connected");
  CHECK_FALSE(t.m.sale);
}

TEST_CASE("an approved card payment is submitted with its key, marks the sale paid and prints the receipt") {
  Till t;
  t.ctx.capture_method = "manual";
  t.ring_up();
  t.dispatch(Charge{});
  t.dispatch(ReaderPrompt{t.attempt(0).id, ReaderPromptKind::PresentCard, "Present card"});
  CHECK(t.m.reader.prompt_text == "Present card");

  t.ctx.now = kT0 + 5s;
  const auto submitted = t.dispatch(CardCollected{t.attempt(0).id, "pm_card_visa", visa(), false});
  PaymentAttempt a = t.attempt(0);
  CHECK(a.state == AttemptState::Submitting);
  OperationIntent op = pi_operation(a, "pm_card_visa", kT0 + 5s);
  op.capture_method = "manual";  // from the Context
  CHECK(op.amount == 1312);
  CHECK(op.attempt_number == 1);
  CHECK(submitted == std::vector<Effect>{UpdateAttempt{a, AttemptEvent::Submitted}, EnqueueOperation{op}});
  CHECK(t.m.phase == PaymentPhase::Authorizing);

  t.ctx.now = kT0 + 7s;
  CardDetails auth;
  auth.authorization_code = "123456";
  const auto approved = t.dispatch(PaymentApproved{a.id, "pi_123", auth});
  a.state = AttemptState::Approved;
  a.payment_intent_id = "pi_123";
  a.card.authorization_code = "123456";
  a.updated_at = kT0 + 7s;
  Sale paid = *t.m.sale;
  CHECK(paid.state == SaleState::Paid);
  const ReceiptInput receipt_in{t.ctx.merchant, paid, {a}, 0, 0};
  const std::string receipt = render_receipt(receipt_in);
  CHECK(approved == std::vector<Effect>{UpdateAttempt{a, AttemptEvent::StripeApproved}, UpdateSaleState{paid.id, SaleState::Paid, kT0 + 7s},
                                        PrintReceipt{receipt, receipt_in}});
  CHECK_THAT(receipt, Catch::Contains("AUTH CODE 123456"));
  CHECK(t.m.screen == Screen::Receipt);
  CHECK(t.m.last_receipt == receipt);
  CHECK(t.m.phase == PaymentPhase::None);
  // A repeated approval (webhook + poll) changes nothing.
  const Model done = t.m;
  CHECK(t.dispatch(PaymentApproved{a.id, "pi_123", auth}).empty());
  CHECK(t.m == done);

  CHECK(t.dispatch(NewSale{}).empty());
  CHECK(t.m.screen == Screen::Sell);
  CHECK(t.m.cart.lines.empty());
  CHECK_FALSE(t.m.sale);
  CHECK(t.m.reader.connected);
}

TEST_CASE("a decline shows an actionable reason and a declined receipt, and a retry is a new attempt with a new key") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  t.dispatch(CardCollected{t.attempt(0).id, "pm_1", visa(), false});
  const auto declined = t.dispatch(PaymentDeclined{t.attempt(0).id, "insufficient_funds", "Your card has insufficient funds.", "pi_1"});
  PaymentAttempt a = t.attempt(0);
  CHECK(a.state == AttemptState::Declined);
  CHECK(a.decline_code == "insufficient_funds");
  const ReceiptInput receipt_in{t.ctx.merchant, *t.m.sale, {a}, 0, 0};
  const std::string receipt = render_receipt(receipt_in);
  CHECK(declined == std::vector<Effect>{UpdateAttempt{a, AttemptEvent::StripeDeclined}, PrintReceipt{receipt, receipt_in}});
  CHECK_THAT(receipt, Catch::Contains("DECLINED insufficient_funds"));
  CHECK(t.m.notice == Notice{NoticeLevel::Warning, "Declined: Insufficient funds: ask for another card or another way to pay",
                             "insufficient_funds: Your card has insufficient funds."});
  CHECK(t.m.phase == PaymentPhase::Declined);
  CHECK(t.m.sale->state == SaleState::Tendering);  // still owed

  const auto ids = t.next_ids(2);
  const auto retry = t.dispatch(RetryWithAnotherCard{});
  REQUIRE(t.m.attempts.size() == 2);
  const PaymentAttempt b = t.attempt(1);  // a copy: dispatch replaces the model
  CHECK(b.id == ids[0]);
  CHECK(b.idempotency_key == ids[1]);
  CHECK(b.idempotency_key != a.idempotency_key);
  CHECK(b.number == 2);
  // The sale is already on disk: no second PersistSale.
  CHECK(retry == std::vector<Effect>{CreateAttempt{b}, StartCollect{b.id, 1312, "usd", true}});

  t.dispatch(CardCollected{b.id, "pm_2", visa(), false});
  const auto approved = t.dispatch(PaymentApproved{b.id, "pi_2", {}});
  CHECK(count_of<UpdateSaleState>(approved) == 1);
  CHECK(count_of<PrintReceipt>(approved) == 1);
  CHECK(t.m.sale->state == SaleState::Paid);
  CHECK(amount_paid(t.m) == 1312);  // the declined attempt counts for nothing
}

TEST_CASE("a reader disconnect mid-payment goes in doubt, blocks every retry, and resolves approved with no second charge") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  const std::string key = t.attempt(0).idempotency_key;
  t.ctx.now = kT0 + 3s;
  const auto dropped = t.dispatch(ReaderStatusChanged{false, "Simulated reader", "disconnected"});
  PaymentAttempt a = t.attempt(0);
  CHECK(a.state == AttemptState::InDoubt);
  CHECK(dropped == std::vector<Effect>{UpdateAttempt{a, AttemptEvent::NoAnswer}, ResolveInDoubt{id}});
  CHECK(t.m.phase == PaymentPhase::InDoubt);
  CHECK(t.m.notice == Notice{NoticeLevel::Warning, kInDoubtText, "reader disconnected during the payment"});

  // Nothing a cashier presses may start another charge, take cash, or abandon the sale.
  t.dispatch(ReaderStatusChanged{true, "Simulated reader", ""});
  for (const Action& act : std::vector<Action>{RetryWithAnotherCard{}, Charge{}, PayCash{5000}, CancelPayment{},
                                                VoidSale{}, NewSale{}, AddProduct{"latte"}}) {
    CHECK(t.dispatch(act).empty());
    CHECK(t.m.notice.text == kInDoubtText);
    CHECK(t.m.attempts.size() == 1);
    CHECK(t.m.phase == PaymentPhase::InDoubt);
  }
  // A late duplicate report changes nothing either.
  CHECK(t.dispatch(PaymentOutcomeUnknown{id, "timeout"}).empty());

  t.ctx.now = kT0 + 9s;
  CardDetails card = visa();
  card.authorization_code = "A1B2C3";
  const auto resolved = t.dispatch(InDoubtResolved{id, AttemptEvent::StripeApproved, "pi_late", "", "", card});
  REQUIRE(t.m.attempts.size() == 1);
  a = t.attempt(0);
  CHECK(a.state == AttemptState::Approved);
  CHECK(a.idempotency_key == key);
  CHECK(a.payment_intent_id == "pi_late");
  CHECK(count_of<StartCollect>(resolved) == 0);
  CHECK(count_of<CreateAttempt>(resolved) == 0);
  CHECK(count_of<EnqueueOperation>(resolved) == 0);
  const ReceiptInput receipt_in{t.ctx.merchant, *t.m.sale, {a}, 0, 0};
  const std::string receipt = render_receipt(receipt_in);
  CHECK(resolved == std::vector<Effect>{UpdateAttempt{a, AttemptEvent::StripeApproved}, UpdateSaleState{a.sale_id, SaleState::Paid, kT0 + 9s},
                                        PrintReceipt{receipt, receipt_in}});
  CHECK(t.m.screen == Screen::Receipt);
  CHECK(amount_paid(t.m) == 1312);
}

TEST_CASE("a timeout while authorizing goes in doubt, and once resolved declined a new card may be tried") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  t.dispatch(CardCollected{id, "pm_1", visa(), false});
  const auto unknown = t.dispatch(PaymentOutcomeUnknown{id, "timeout after 80 s"});
  CHECK(unknown == std::vector<Effect>{UpdateAttempt{t.attempt(0), AttemptEvent::NoAnswer}, ResolveInDoubt{id}});
  CHECK(t.attempt(0).failure_message == "timeout after 80 s");
  CHECK(t.dispatch(RetryWithAnotherCard{}).empty());
  // Never shown as a decline while unknown (lesson 2).
  CHECK(t.m.notice.text.find("Declined") == std::string::npos);

  const auto resolved = t.dispatch(InDoubtResolved{id, AttemptEvent::StripeDeclined, "pi_9", "generic_decline", "Your card was declined.", {}});
  CHECK(t.attempt(0).state == AttemptState::Declined);
  CHECK(count_of<PrintReceipt>(resolved) == 1);
  CHECK(t.m.phase == PaymentPhase::Declined);
  const auto retry = t.dispatch(RetryWithAnotherCard{});
  REQUIRE(t.m.attempts.size() == 2);
  CHECK(count_of<StartCollect>(retry) == 1);
  CHECK(t.attempt(1).idempotency_key != t.attempt(0).idempotency_key);
}

TEST_CASE("cancel while collecting asks the reader, and its confirmation reopens the cart") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  CHECK(t.dispatch(CancelPayment{}) == std::vector<Effect>{CancelCollect{id}});
  CHECK(t.m.phase == PaymentPhase::Canceling);
  CHECK(t.dispatch(CancelPayment{}).empty());
  t.ctx.now = kT0 + 2s;
  const auto canceled = t.dispatch(CollectCanceled{id});
  PaymentAttempt a = t.attempt(0);
  CHECK(a.state == AttemptState::Canceled);
  CHECK(canceled == std::vector<Effect>{UpdateAttempt{a, AttemptEvent::Canceled}, UpdateSaleState{a.sale_id, SaleState::Open, kT0 + 2s}});
  CHECK(t.m.phase == PaymentPhase::None);
  CHECK(t.m.screen == Screen::Sell);
  CHECK(t.m.notice.text == "Payment canceled: nothing was charged");

  // The cart can change again; the next charge re-persists the same sale with the new lines.
  t.dispatch(AddProduct{"beans"});
  const auto ids = t.next_ids(2);
  const auto again = t.dispatch(Charge{});
  REQUIRE(again.size() == 3);
  const Sale& s = std::get<PersistSale>(again[0]).sale;
  CHECK(s.id == a.sale_id);
  CHECK(s.lines.size() == 3);
  CHECK(s.state == SaleState::Tendering);
  CHECK(std::get<CreateAttempt>(again[1]).attempt.id == ids[0]);
  CHECK(std::get<CreateAttempt>(again[1]).attempt.number == 2);
}

TEST_CASE("a card read that races a cancel is still authorized, and cancel is refused once authorizing") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  t.dispatch(CancelPayment{});
  const auto fx = t.dispatch(CardCollected{id, "pm_1", visa(), false});
  CHECK(count_of<EnqueueOperation>(fx) == 1);
  CHECK(t.m.phase == PaymentPhase::Authorizing);
  CHECK(t.dispatch(CancelPayment{}).empty());
  CHECK(t.m.notice.text == "Cannot cancel: the card is being authorized");
}

TEST_CASE("a reader failure before the card is read is safe to retry") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  const auto failed = t.dispatch(CollectFailed{id, "card removed too early"});
  CHECK(t.attempt(0).state == AttemptState::Canceled);
  CHECK(failed == std::vector<Effect>{UpdateAttempt{t.attempt(0), AttemptEvent::ReaderFailed}});
  CHECK(t.m.phase == PaymentPhase::Failed);
  CHECK(t.m.notice == Notice{NoticeLevel::Warning,
                             "The reader did not read the card: Nothing was charged. Try the card again or pay another way",
                             "card removed too early"});
  CHECK(count_of<StartCollect>(t.dispatch(RetryWithAnotherCard{})) == 1);
}

TEST_CASE("stale reader events for another attempt change nothing") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const Model before = t.m;
  CHECK(t.dispatch(CardCollected{"att_other", "pm_x", visa(), false}).empty());
  CHECK(t.dispatch(CollectCanceled{"att_other"}).empty());
  CHECK(t.dispatch(ReaderPrompt{"att_other", ReaderPromptKind::RemoveCard, "Remove card"}).empty());
  Model expected = before;
  expected.notice = t.m.notice;
  CHECK(t.m == expected);
  // An outcome for an attempt this register no longer holds is surfaced for staff.
  CHECK(t.dispatch(PaymentApproved{"att_gone", "pi_x", {}}).empty());
  CHECK(t.m.notice == Notice{NoticeLevel::Warning, "An earlier payment was approved: see the back office", "attempt att_gone"});
}

TEST_CASE("offline: a payment within the caps is stored, queued with its key and receipted OFFLINE") {
  Till t;
  t.dispatch(ConnectivityChanged{false});
  t.ring_up();
  const auto charge = t.dispatch(Charge{});
  CHECK(std::get<StartCollect>(charge.at(2)).offline_allowed);
  const std::string id = t.attempt(0).id;
  t.ctx.now = kT0 + 4s;
  const auto stored = t.dispatch(PaymentStoredOffline{id, "pm_offline_1", visa(), false});
  PaymentAttempt a = t.attempt(0);
  CHECK(a.state == AttemptState::StoredOffline);
  CHECK(a.offline);
  const Sale& sale = *t.m.sale;
  const ReceiptInput receipt_in{t.ctx.merchant, sale, {a}, 0, 0};
  const std::string receipt = render_receipt(receipt_in);
  CHECK(stored == std::vector<Effect>{UpdateAttempt{a, AttemptEvent::StoredOffline}, EnqueueOperation{pi_operation(a, "pm_offline_1", kT0 + 4s)},
                                      UpdateSaleState{sale.id, SaleState::Paid, kT0 + 4s}, PrintReceipt{receipt, receipt_in}});
  CHECK_THAT(receipt, Catch::Contains("OFFLINE: STORED, AUTHORIZATION PENDING"));
  CHECK(t.m.offline.stored.count == 1);
  CHECK(t.m.offline.stored.by_currency.at("usd") == StoredCurrency{1, 1312});
  CHECK(t.m.offline.stored.oldest == kT0 + 4s);
  REQUIRE_FALSE(t.m.offline.headroom.empty());
  CHECK(t.m.offline.headroom[0] == Headroom{"usd", 100'000 - 1312, 49, 10'000});
}

TEST_CASE("offline: a card collected while the connection is down goes through the same policy") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  t.dispatch(ConnectivityChanged{false});
  auto swiped = visa();
  swiped.read_method = "magnetic_stripe";
  const std::string id = t.attempt(0).id;
  const auto refused = t.dispatch(CardCollected{id, "pm_swipe", swiped, false});
  PaymentAttempt a = t.attempt(0);
  CHECK(a.state == AttemptState::Canceled);
  CHECK(a.payment_method.empty());  // the token is dropped
  CHECK(refused == std::vector<Effect>{UpdateAttempt{a, AttemptEvent::OfflineRefused}, Audit{"offline_refused", "attempt=" + id + " reason=swipe"}});
  CHECK(t.m.phase == PaymentPhase::Refused);
  CHECK(t.m.notice.text ==
        "Card refused offline: swiped cards cannot be taken offline; insert or tap the card. Nothing was charged: try "
        "another card, take cash, or wait for the connection");
  // Another card (inserted this time) may be tried: a new attempt and key.
  CHECK(count_of<StartCollect>(t.dispatch(RetryWithAnotherCard{})) == 1);
  const auto ok = t.dispatch(CardCollected{t.attempt(1).id, "pm_chip", visa(), false});
  CHECK(t.attempt(1).state == AttemptState::StoredOffline);
  CHECK(count_of<PrintReceipt>(ok) == 1);
}

TEST_CASE("offline: charge is refused when a cap forbids storing, and cash still works") {
  Till t;
  t.dispatch(ConnectivityChanged{false});
  StoredTotals full;
  full.by_currency["usd"] = StoredCurrency{50, 20'000};
  full.count = 50;
  full.oldest = kT0 - 1h;
  t.dispatch(OfflineStatusUpdated{full});
  CHECK(t.m.offline.require_online_reason == "offline limit: at most 50 stored payments; forward them first");
  t.ring_up();
  CHECK(t.dispatch(Charge{}).empty());
  CHECK(t.m.notice.text ==
        "Card payments need a connection now: offline limit: at most 50 stored payments; forward them first. Take cash or wait");
  CHECK_FALSE(t.m.sale);
  const auto cash = t.dispatch(PayCash{2000});
  CHECK(count_of<PersistSale>(cash) == 1);
  CHECK(t.m.sale->state == SaleState::Paid);

  // Online, the same caps only stop the reader from falling back to store-and-forward.
  Till online;
  online.dispatch(OfflineStatusUpdated{full});
  online.ring_up();
  const auto fx = online.dispatch(Charge{});
  CHECK_FALSE(std::get<StartCollect>(fx.at(2)).offline_allowed);
}

TEST_CASE("offline: an amount over the per-payment cap is refused before the card is read") {
  Till t;
  t.dispatch(ConnectivityChanged{false});
  t.dispatch(AddProduct{"beans", 7});  // 7 x 160.00 = 1120.00 + tax: over 100.00
  CHECK(t.dispatch(Charge{}).empty());
  CHECK(t.m.notice.text == "Card payments need a connection now: offline limit: at most USD 100.00 per payment. Take cash or wait");
}

TEST_CASE("split tender: part cash, then card for the balance, with both on the receipt") {
  Till t;
  t.ring_up();
  const auto ids = t.next_ids(3);
  const auto cash = t.dispatch(PayCash{500});
  REQUIRE(cash.size() == 3);
  CHECK(std::holds_alternative<PersistSale>(cash[0]));
  const PaymentAttempt c = std::get<CreateAttempt>(cash[1]).attempt;
  CHECK(c.id == ids[1]);
  CHECK(c.tender == TenderKind::Cash);
  CHECK(c.state == AttemptState::Approved);
  CHECK(c.amount == 500);
  CHECK(std::holds_alternative<OpenCashDrawer>(cash[2]));
  CHECK(balance_due(t.m) == 812);
  CHECK(t.m.screen == Screen::Payment);
  CHECK(t.m.notice.text == "Cash USD 5.00 taken; balance due USD 8.12");
  // The cart is locked once money was taken.
  CHECK(t.dispatch(AddProduct{"latte"}).empty());
  CHECK(t.dispatch(VoidSale{}).empty());
  CHECK(t.m.notice.text == "Money was already taken: take the balance or refund from the back office");

  const auto card = t.dispatch(Charge{});
  CHECK(count_of<PersistSale>(card) == 0);
  CHECK(std::get<StartCollect>(card.at(1)).amount == 812);
  CHECK(t.attempt(1).number == 2);
  t.dispatch(CardCollected{t.attempt(1).id, "pm_1", visa(), false});
  const auto approved = t.dispatch(PaymentApproved{t.attempt(1).id, "pi_split", {}});
  CHECK(t.m.sale->state == SaleState::Paid);
  const std::string receipt = std::get<PrintReceipt>(approved.back()).text;
  CHECK(receipt == render_receipt(ReceiptInput{t.ctx.merchant, *t.m.sale, {t.attempt(0), t.attempt(1)}, 500, 0}));
  CHECK_THAT(receipt, Catch::Contains("CASH"));
  CHECK_THAT(receipt, Catch::Contains("VISA **** 4242"));
}

TEST_CASE("a card can pay part of the balance, and a cancel then leaves the rest owed") {
  Till t;
  t.ring_up();
  CHECK(t.dispatch(Charge{2000}).empty());
  CHECK(t.m.notice.text == "Amount is more than the balance due (USD 13.12)");
  t.dispatch(Charge{700});
  t.dispatch(CardCollected{t.attempt(0).id, "pm_1", visa(), false});
  t.dispatch(PaymentApproved{t.attempt(0).id, "pi_1", {}});
  CHECK(balance_due(t.m) == 612);
  CHECK(t.m.sale->state == SaleState::Tendering);
  CHECK(t.m.notice.text == "Approved USD 7.00: balance due USD 6.12");
  t.dispatch(Charge{});
  CHECK(t.dispatch(CancelPayment{}).size() == 1);
  const auto canceled = t.dispatch(CollectCanceled{t.attempt(1).id});
  CHECK(count_of<UpdateSaleState>(canceled) == 0);  // money was taken: the sale is not reopened
  CHECK(t.m.screen == Screen::Payment);
  CHECK(t.m.notice.text == "Payment canceled: balance due USD 6.12");
}

TEST_CASE("cash with change completes the sale and opens the drawer") {
  Till t;
  t.ring_up();
  const auto fx = t.dispatch(PayCash{2000});
  CHECK(t.m.sale->state == SaleState::Paid);
  CHECK(t.m.change_due == 688);
  CHECK(t.m.notice.text == "Change due: USD 6.88");
  REQUIRE(fx.size() == 5);
  CHECK(std::holds_alternative<PersistSale>(fx[0]));
  CHECK(std::holds_alternative<CreateAttempt>(fx[1]));
  CHECK(std::holds_alternative<OpenCashDrawer>(fx[2]));
  CHECK(fx[3] == Effect{UpdateSaleState{t.m.sale->id, SaleState::Paid, kT0}});
  CHECK_THAT(std::get<PrintReceipt>(fx[4]).text, Catch::Contains("CHANGE"));
  CHECK(std::get<CreateAttempt>(fx[1]).attempt.amount == 1312);
}

TEST_CASE("a sale can be voided before money is taken, and is then kept as voided") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  t.dispatch(CancelPayment{});
  t.dispatch(CollectCanceled{t.attempt(0).id});
  const std::string sale_id = t.m.sale->id;
  t.ctx.now = kT0 + 1min;
  const auto fx = t.dispatch(VoidSale{});
  CHECK(fx == std::vector<Effect>{UpdateSaleState{sale_id, SaleState::Voided, kT0 + 1min},
                                  Audit{"sale_voided", "sale=" + sale_id}});
  CHECK_FALSE(t.m.sale);
  CHECK(t.m.cart.lines.empty());
  // A cart never persisted is simply dropped.
  t.ring_up();
  CHECK(t.dispatch(VoidSale{}).empty());
  CHECK(t.m.cart.lines.empty());
}

TEST_CASE("a store failure before collecting means nothing was charged and the charge can be retried") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  t.dispatch(StoreFailed{"disk full"});
  CHECK(t.m.attempts.empty());
  CHECK(t.m.phase == PaymentPhase::Failed);
  CHECK(t.m.storage_error == "disk full");
  CHECK(t.m.notice == Notice{NoticeLevel::Error, "Could not save the sale. Nothing more was charged; call a manager", "disk full"});
  const auto again = t.dispatch(Charge{});
  // The sale may never have reached the disk: it is persisted again (an upsert) before the attempt.
  REQUIRE(again.size() == 3);
  CHECK(std::holds_alternative<PersistSale>(again[0]));
  CHECK(std::holds_alternative<CreateAttempt>(again[1]));
  t.dispatch(SaleSaved{t.m.sale->id});
  CHECK(t.m.sale_saved);
  CHECK(t.m.storage_error.empty());
}

TEST_CASE("the back office needs the manager PIN, and its actions are audited") {
  Till t;
  t.ring_up();
  CHECK(t.dispatch(OpenBackOffice{"0000"}) == std::vector<Effect>{Audit{"back_office_pin_rejected", ""}});
  CHECK(t.m.notice.text == "Wrong manager PIN");
  CHECK(t.m.screen == Screen::Sell);
  CHECK(t.dispatch(RetryOperation{7}).empty());
  CHECK(t.m.notice.text == "Manager PIN required");

  CHECK(t.dispatch(OpenBackOffice{"2468"}) ==
        std::vector<Effect>{Audit{"back_office_opened", ""}, LoadBackOffice{}, BuildDayReport{utc_day(kT0)}});
  CHECK(t.m.screen == Screen::BackOffice);
  CHECK(t.m.back_office.loading);
  AttentionItem dead;
  dead.kind = AttentionItem::Kind::Dead;
  dead.operation_id = 7;
  dead.last_error = "invalid_request_error: amount too small";
  dead.last_request_id = "req_123";
  t.dispatch(BackOfficeLoaded{QueueCounts{3, 0, 1, 1, 40, 2, 0}, {dead}});
  CHECK(t.m.back_office.counts.dead == 1);
  CHECK(t.m.back_office.attention == std::vector<AttentionItem>{dead});
  CHECK_FALSE(t.m.back_office.loading);
  // The cashier's actions wait until the back office is closed.
  CHECK(t.dispatch(AddProduct{"latte"}).empty());
  CHECK(t.m.notice.text == "Close the back office first");

  CHECK(t.dispatch(RetryOperation{7}) ==
        std::vector<Effect>{RequeueOperation{7}, Audit{"operation_retried", "operation=7"}, LoadBackOffice{}});
  CHECK(t.dispatch(MarkHandled{7, ""}).empty());
  CHECK(t.dispatch(MarkHandled{7, "refunded by phone"}) ==
        std::vector<Effect>{MarkOperationHandled{7, "refunded by phone"},
                            Audit{"operation_marked_handled", "operation=7 note=refunded by phone"}, LoadBackOffice{}});
  CHECK(t.dispatch(CloseBackOffice{}).empty());
  CHECK(t.m.screen == Screen::Sell);
  CHECK_FALSE(t.m.back_office.unlocked);
  CHECK(t.m.cart.lines.size() == 2);  // the checkout underneath was kept
}

TEST_CASE("a refund is a keyed operation queued from the back office") {
  Till t;
  t.dispatch(OpenBackOffice{"2468"});
  const auto ids = t.next_ids(1);
  const auto fx = t.dispatch(RequestRefund{"sale_1", "att_1", "pi_1", 450, "usd"});
  REQUIRE(fx.size() == 3);
  OperationIntent want;
  want.kind = OperationKind::Refund;
  want.sale_id = "sale_1";
  want.attempt_id = "att_1";
  want.account_id = "acct_1Till";
  want.currency = "usd";
  want.payment_intent_id = "pi_1";
  want.refund_amount = 450;
  want.idempotency_key = ids[0];  // a fresh key for each refund
  want.at = kT0;
  CHECK(fx[0] == Effect{EnqueueOperation{want}});
  CHECK(fx[1] == Effect{Audit{"refund_requested", "sale=sale_1 payment_intent=pi_1 amount=USD 4.50"}});
  CHECK(t.dispatch(RequestRefund{"sale_1", "att_1", "", 450, "usd"}).empty());
}

TEST_CASE("an in-doubt sale can be set aside by a manager to free the register") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  t.dispatch(PaymentOutcomeUnknown{t.attempt(0).id, "reader timeout"});
  const std::string sale_id = t.m.sale->id;
  CHECK(t.dispatch(SetAsideSale{}).empty());  // needs the manager
  t.dispatch(OpenBackOffice{"2468"});
  CHECK(t.dispatch(SetAsideSale{}) == std::vector<Effect>{Audit{"sale_set_aside", "sale=" + sale_id}});
  CHECK_FALSE(t.m.sale);
  CHECK(t.m.phase == PaymentPhase::None);
  t.dispatch(CloseBackOffice{});
  CHECK(t.m.screen == Screen::Sell);
  // The late answer is reported, not applied to the next customer's sale.
  t.ring_up();
  CHECK(t.dispatch(InDoubtResolved{"gone", AttemptEvent::StripeApproved, "pi", "", "", {}}).empty());
  CHECK(t.m.notice == Notice{NoticeLevel::Warning, "An earlier payment was approved: see the back office", "attempt gone"});
  CHECK(t.m.attempts.empty());
}

TEST_CASE("decline reasons tell the cashier what to do and never say lost or stolen") {
  CHECK(decline_reason("expired_card") == "The card has expired: ask for another card");
  CHECK(decline_reason("incorrect_pin") == "Incorrect PIN: try again with the same card");
  CHECK(decline_reason("lost_card") == decline_reason("generic_decline"));
  CHECK(decline_reason("stolen_card").find("stolen") == std::string::npos);
  CHECK(decline_reason("something_new") == "Declined by the bank: ask for another card or another way to pay");
}

TEST_CASE("a smart reader's approval without a separate card read completes the sale") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const auto fx = t.dispatch(PaymentApproved{t.attempt(0).id, "pi_wpe", visa()});
  CHECK(t.attempt(0).state == AttemptState::Approved);
  CHECK(t.attempt(0).card.brand == "visa");
  CHECK(count_of<PrintReceipt>(fx) == 1);
  CHECK(t.m.sale->state == SaleState::Paid);
}

TEST_CASE("losing the connection while a card is authorizing says it waits for Stripe, and the approval ends it") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  t.dispatch(CardCollected{id, "pm_1", visa(), false});
  REQUIRE(t.m.phase == PaymentPhase::Authorizing);
  CHECK(t.dispatch(ConnectivityChanged{false}).empty());
  CHECK(t.m.phase == PaymentPhase::Authorizing);  // never a decline, never a new attempt
  CHECK(t.m.notice.level == NoticeLevel::Warning);
  CHECK_THAT(t.m.notice.text, Catch::StartsWith("Stripe cannot be reached: this card payment is sent"));
  CHECK(t.dispatch(Charge{}).empty());  // no second card for it meanwhile
  CHECK(t.m.attempts.size() == 1);
  t.dispatch(ConnectivityChanged{true});
  t.dispatch(PaymentApproved{id, "pi_1", visa()});
  CHECK(t.m.screen == Screen::Receipt);
  CHECK(t.m.notice.text.rfind("Approved", 0) == 0);
}

TEST_CASE("a smart reader's outcome queues no operation: its PaymentIntent exists already, so no second charge") {
  // The runtime's smart-reader chain created (and keyed) the PaymentIntent before the reader
  // charged: an EnqueueOperation create here would be a second PaymentIntent for the attempt.
  for (const bool online : {true, false}) {
    INFO("online " << online);
    Till t;
    t.ring_up();
    const auto started = t.dispatch(Charge{});
    CHECK(count_of<EnqueueOperation>(started) == 0);
    const std::string id = t.attempt(0).id;
    if (!online) t.dispatch(ConnectivityChanged{false});  // the register went offline meanwhile
    const auto fx = t.dispatch(PaymentApproved{id, "pi_wpe", visa()});
    CHECK(count_of<EnqueueOperation>(fx) == 0);
    CHECK(count_of<UpdateAttempt>(fx) == 1);
    CHECK(t.attempt(0).state == AttemptState::Approved);
    CHECK(t.attempt(0).payment_intent_id == "pi_wpe");
    CHECK_FALSE(t.attempt(0).offline);
    CHECK(t.m.sale->state == SaleState::Paid);
    // A repeated report (the engine's look at the chain's safety-net row) changes nothing.
    CHECK(t.dispatch(PaymentApproved{id, "pi_wpe", visa()}).empty());
    CHECK(t.dispatch(InDoubtResolved{id, AttemptEvent::StripeApproved, "pi_wpe", {}, {}, visa()}).empty());
  }
  Till d;
  d.ring_up();
  d.dispatch(Charge{});
  const auto declined = d.dispatch(PaymentDeclined{d.attempt(0).id, "card_declined", "", "pi_wpe"});
  CHECK(count_of<EnqueueOperation>(declined) == 0);
  CHECK(d.attempt(0).state == AttemptState::Declined);
}

TEST_CASE("an approval for an attempt already given up is recorded and flagged for staff") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  t.dispatch(CollectFailed{id, "reader timeout"});
  REQUIRE(t.attempt(0).state == AttemptState::Canceled);
  const auto fx = t.dispatch(PaymentApproved{id, "pi_surprise", {}});
  CHECK(t.attempt(0).state == AttemptState::Approved);  // Stripe's answer wins (lesson 8)
  CHECK(count_of<UpdateAttempt>(fx) == 1);
  CHECK(t.m.notice.level == NoticeLevel::Error);
  CHECK_THAT(t.m.notice.text, Catch::Contains("was approved after it had been given up"));
  CHECK(t.m.sale->state == SaleState::Paid);
}

TEST_CASE("a late decline cannot undo an approval") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  t.dispatch(CardCollected{id, "pm_1", visa(), false});
  t.dispatch(PaymentApproved{id, "pi_1", {}});
  const Model paid = t.m;
  CHECK(t.dispatch(PaymentDeclined{id, "card_declined", "late webhook", "pi_1"}).empty());
  CHECK(t.m == paid);
}

TEST_CASE("a stale reader failure after a disconnect keeps the in-doubt warning") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  t.dispatch(ReaderStatusChanged{false, "", ""});
  const Model in_doubt = t.m;
  CHECK(t.dispatch(CollectFailed{id, "device lost"}).empty());
  CHECK(t.m == in_doubt);
  CHECK(t.m.notice.text == kInDoubtText);
}

TEST_CASE("a store failure while authorizing means the payment was never sent") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  t.dispatch(CardCollected{t.attempt(0).id, "pm_1", visa(), false});
  t.dispatch(StoreFailed{"database is locked"});
  CHECK(t.m.phase == PaymentPhase::Failed);
  CHECK(t.attempt(0).state == AttemptState::Canceled);
  CHECK(count_of<StartCollect>(t.dispatch(RetryWithAnotherCard{})) == 1);
}

TEST_CASE("the customer contact is saved with the sale for offline follow-up") {
  Till t;
  t.ring_up();
  CHECK(t.dispatch(SetCustomerContact{"ana@example.com"}).empty());
  const auto fx = t.dispatch(Charge{});
  CHECK(std::get<PersistSale>(fx.at(0)).sale.customer_contact == "ana@example.com");
  t.dispatch(CollectFailed{t.attempt(0).id, "timeout"});
  const auto again = t.dispatch(SetCustomerContact{"+1 555 0100"});
  REQUIRE(again.size() == 1);
  CHECK(std::get<PersistSale>(again[0]).sale.customer_contact == "+1 555 0100");
}

TEST_CASE("clearing the cart works only before the sale was saved") {
  Till t;
  t.ring_up();
  CHECK(t.dispatch(ClearCart{}).empty());
  CHECK(t.m.cart.lines.empty());
  CHECK(t.m.totals.total == 0);
  t.ring_up();
  t.dispatch(Charge{});
  t.dispatch(CancelPayment{});
  t.dispatch(CollectCanceled{t.attempt(0).id});
  CHECK(t.dispatch(ClearCart{}).empty());
  CHECK(t.m.notice.text == "This sale was already saved: void it instead");
  CHECK(t.m.cart.lines.size() == 2);
}

TEST_CASE("a register starts on the sell screen with its offline headroom computed") {
  Till t;
  const Model m = initial_model(t.ctx);
  CHECK(m.screen == Screen::Sell);
  CHECK(m.offline.online);
  CHECK(m.offline.headroom == std::vector<Headroom>{{"usd", 100'000, 50, 10'000}});
  CHECK(m.offline.require_online_reason.empty());
  // The oldest stored payment's age is computed for the staff banner.
  t.ctx.now = kT0 + 90min;
  StoredTotals s;
  s.by_currency["usd"] = StoredCurrency{2, 3000};
  s.count = 2;
  s.oldest = kT0;
  t.dispatch(OfflineStatusUpdated{s});
  CHECK(t.m.offline.oldest_age == 90min);
  CHECK(t.m.offline.headroom[0] == Headroom{"usd", 97'000, 48, 10'000});
}

TEST_CASE("screens and payment phases have stable names for logs and screenshots") {
  CHECK(to_string(Screen::Sell) == "sell");
  CHECK(to_string(Screen::Payment) == "payment");
  CHECK(to_string(Screen::Receipt) == "receipt");
  CHECK(to_string(Screen::BackOffice) == "back_office");
  CHECK(to_string(PaymentPhase::None) == "none");
  CHECK(to_string(PaymentPhase::Collecting) == "collecting");
  CHECK(to_string(PaymentPhase::Canceling) == "canceling");
  CHECK(to_string(PaymentPhase::Authorizing) == "authorizing");
  CHECK(to_string(PaymentPhase::InDoubt) == "in_doubt");
  CHECK(to_string(PaymentPhase::Declined) == "declined");
  CHECK(to_string(PaymentPhase::Refused) == "refused");
  CHECK(to_string(PaymentPhase::Failed) == "failed");
}

TEST_CASE("after a decline the cashier may give up on cards and edit the cart again") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  t.dispatch(CardCollected{t.attempt(0).id, "pm_1", visa(), false});
  t.dispatch(PaymentDeclined{t.attempt(0).id, "expired_card", "", ""});
  t.ctx.now = kT0 + 1min;
  const auto fx = t.dispatch(CancelPayment{});
  CHECK(fx == std::vector<Effect>{UpdateSaleState{t.m.sale->id, SaleState::Open, kT0 + 1min}});
  CHECK(t.m.phase == PaymentPhase::None);
  CHECK(t.m.screen == Screen::Sell);
  CHECK(t.dispatch(RemoveLine{1}).empty());
  CHECK(t.m.cart.lines.size() == 1);
}

TEST_CASE("the queued intent carries the reader's token and the attempt's key as they are (no encoding in pos)") {
  Till t;
  t.ctx.register_id = "front counter/1";
  t.ring_up();
  t.dispatch(Charge{});
  const auto fx = t.dispatch(CardCollected{t.attempt(0).id, "pm_a+b", visa(), false});
  const OperationIntent& op = std::get<EnqueueOperation>(fx.at(1)).intent;
  CHECK(op.payment_method == "pm_a+b");
  CHECK(op.idempotency_key == t.attempt(0).idempotency_key);
  CHECK(op.account_id == t.attempt(0).account_id);
  CHECK_FALSE(op.refund_amount.has_value());
}

TEST_CASE("an approval arriving after a cancel reopened the cart still completes the sale") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  t.dispatch(CancelPayment{});
  t.dispatch(CollectCanceled{id});
  REQUIRE(t.m.sale->state == SaleState::Open);
  t.ctx.now = kT0 + 30s;
  const auto fx = t.dispatch(PaymentApproved{id, "pi_late", visa()});
  REQUIRE(fx.size() == 5);
  CHECK(fx[0] == Effect{UpdateAttempt{t.attempt(0), AttemptEvent::StripeApproved}});
  CHECK(fx[1] == Effect{UpdateSaleState{t.m.sale->id, SaleState::Tendering, kT0 + 30s}});
  CHECK(fx[2] == Effect{Audit{"approved_after_given_up", "attempt=" + id + " sale=" + t.m.sale->id}});
  CHECK(fx[3] == Effect{UpdateSaleState{t.m.sale->id, SaleState::Paid, kT0 + 30s}});
  CHECK(std::holds_alternative<PrintReceipt>(fx[4]));
  CHECK(t.m.sale->state == SaleState::Paid);
  CHECK(t.m.notice.level == NoticeLevel::Error);  // staff must know a given-up card was charged
}

TEST_CASE("a late approval that covers the balance stops the card on the reader, and a second approval is flagged as over-collected") {
  Till t;
  t.ring_up();  // 13.12
  t.dispatch(Charge{700});
  const std::string first = t.attempt(0).id;
  t.dispatch(CollectFailed{first, "timeout"});  // given up: nothing seemed to happen
  t.dispatch(Charge{});                          // 13.12 on a second card
  const std::string second = t.attempt(1).id;
  // The first card was approved after all (7.00); the second is still on the reader for 13.12.
  auto fx = t.dispatch(PaymentApproved{first, "pi_first", {}});
  CHECK(count_of<CancelCollect>(fx) == 0);  // 6.12 still owed: the second card goes on
  CHECK(t.m.phase == PaymentPhase::Collecting);
  CHECK(balance_due(t.m) == 612);
  // The second card is read: it is submitted for its full amount as asked, then approved.
  t.dispatch(CardCollected{second, "pm_2", visa(), false});
  fx = t.dispatch(PaymentApproved{second, "pi_second", {}});
  CHECK(t.m.sale->state == SaleState::Paid);
  CHECK(amount_paid(t.m) == 2012);
  CHECK(fx.at(fx.size() - 1) == Effect{Audit{"over_collected", "sale=" + t.m.sale->id + " amount=USD 7.00"}});
  CHECK(t.m.notice == Notice{NoticeLevel::Error, "Over-collected USD 7.00: refund it from the back office", ""});
}

TEST_CASE("a late approval covering the whole balance cancels the card still on the reader") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string first = t.attempt(0).id;
  t.dispatch(CollectFailed{first, "timeout"});
  t.dispatch(RetryWithAnotherCard{});
  const std::string second = t.attempt(1).id;
  const auto fx = t.dispatch(PaymentApproved{first, "pi_first", {}});
  CHECK(fx.at(fx.size() - 1) == Effect{CancelCollect{second}});
  CHECK(t.m.phase == PaymentPhase::Canceling);
  CHECK(t.m.sale->state == SaleState::Tendering);  // not paid while a card is live
  // The reader read the card anyway: it is not submitted, and the sale completes.
  const auto read = t.dispatch(CardCollected{second, "pm_2", visa(), false});
  CHECK(count_of<EnqueueOperation>(read) == 0);
  CHECK(t.attempt(1).state == AttemptState::Canceled);
  CHECK(t.m.sale->state == SaleState::Paid);
  CHECK(amount_paid(t.m) == 1312);
}

TEST_CASE("reader management goes through the reducer: commands are manager-only, audited and answered") {
  Till t;
  CHECK(t.dispatch(ManageReader{ReaderCommandKind::Disconnect}).empty());  // not in the back office
  CHECK(t.m.notice.text == "Manager PIN required");
  t.dispatch(OpenBackOffice{"2468"});
  CHECK(t.dispatch(ManageReader{ReaderCommandKind::Connect}).empty());
  CHECK(t.m.notice.text == "The reader is already connected");

  CHECK(t.dispatch(ManageReader{ReaderCommandKind::InstallUpdate}) ==
        std::vector<Effect>{ReaderCommand{ReaderCommandKind::InstallUpdate},
                            Audit{"reader_install_update", "reader=Simulated reader"}});
  CHECK(t.m.reader.command_running);
  CHECK(t.dispatch(ManageReader{ReaderCommandKind::RefreshStatus}).empty());  // one at a time
  CHECK(t.m.notice.text == "A reader command is already running");

  ReaderDetails d;
  d.connection = "connected";
  d.battery_percent = 80;
  d.firmware_version = "1.5.0";
  d.update_progress = 50;
  d.offline_capable = true;
  d.offline_capacity = 5;
  CHECK(t.dispatch(ReaderDetailsUpdated{d}).empty());
  CHECK(t.m.reader.details == d);
  CHECK(t.dispatch(ReaderCommandDone{ReaderCommandKind::InstallUpdate, true, "firmware 1.5.0"}).empty());
  CHECK_FALSE(t.m.reader.command_running);
  CHECK(t.m.notice == Notice{NoticeLevel::Info, "Reader: update done", "firmware 1.5.0"});

  CHECK(t.dispatch(ManageReader{ReaderCommandKind::Disconnect}) ==
        std::vector<Effect>{ReaderCommand{ReaderCommandKind::Disconnect}, Audit{"reader_disconnect", "reader=Simulated reader"}});
  t.dispatch(ReaderCommandDone{ReaderCommandKind::Disconnect, true, ""});
  t.dispatch(ReaderStatusChanged{false, "Simulated reader", "disconnected by a manager"});
  CHECK(t.m.reader.details.connection == "disconnected");
  CHECK(t.dispatch(ManageReader{ReaderCommandKind::InstallUpdate}).empty());
  CHECK(t.m.notice.text == "No reader is connected");
  CHECK(t.dispatch(ManageReader{ReaderCommandKind::Connect}) ==
        std::vector<Effect>{ReaderCommand{ReaderCommandKind::Connect}, Audit{"reader_connect", "reader=Simulated reader"}});
  t.dispatch(ReaderCommandDone{ReaderCommandKind::Connect, false, "no reader found"});
  CHECK(t.m.notice == Notice{NoticeLevel::Warning, "Reader: connect failed (see the details)", "no reader found"});
  CHECK(t.m.notice.level == NoticeLevel::Warning);
}

TEST_CASE("no reader command runs while the reader takes a payment") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  REQUIRE(t.m.phase == PaymentPhase::Collecting);
  t.dispatch(OpenBackOffice{"2468"});
  CHECK(t.dispatch(ManageReader{ReaderCommandKind::Disconnect}).empty());
  CHECK(t.m.notice.text == "The reader is taking a payment: finish or cancel it first");
  CHECK(t.dispatch(ManageReader{ReaderCommandKind::InstallUpdate}).empty());
  CHECK_FALSE(t.m.reader.command_running);
  // Even a status refresh is a driver operation, which would make the collect fail as busy.
  CHECK(t.dispatch(ManageReader{ReaderCommandKind::RefreshStatus}).empty());
}

TEST_CASE("the end-of-day report is built by the app for today's UTC day and shown until the back office closes") {
  Till t;
  CHECK(utc_day(kT0) == "2026-09-21");
  CHECK(t.dispatch(LoadDayReport{}).empty());  // manager only
  t.dispatch(OpenBackOffice{"2468"});
  CHECK(t.m.back_office.day_loading);
  t.ctx.now = kT0 + 1h;
  CHECK(t.dispatch(LoadDayReport{}) == std::vector<Effect>{BuildDayReport{"2026-09-21"}});
  DaySummary day;
  day.day = "2026-09-21";
  day.currencies.push_back({"usd", 3, 4'000, 3'700, 300, 0, 0, 1, 0});
  day.tenders.push_back({"card", "usd", 3, 4'000});
  CHECK(t.dispatch(DayReportLoaded{day}).empty());
  REQUIRE(t.m.back_office.day);
  CHECK(*t.m.back_office.day == day);
  CHECK_FALSE(t.m.back_office.day_loading);
  t.dispatch(LoadDayReport{});
  t.dispatch(DayReportFailed{"database is locked"});
  CHECK(t.m.back_office.day_error == "database is locked");
  t.dispatch(CloseBackOffice{});
  CHECK_FALSE(t.m.back_office.day);
  t.dispatch(DayReportLoaded{day});  // late answer after closing: not kept
  CHECK_FALSE(t.m.back_office.day);
}

namespace {

// A paid card sale on the receipt screen.
Till paid_sale() {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  t.dispatch(CardCollected{t.attempt(0).id, "pm_card_visa", visa(), false});
  t.dispatch(PaymentApproved{t.attempt(0).id, "pi_paid", visa()});
  REQUIRE(t.m.screen == Screen::Receipt);
  return t;
}

PastSale past_sale(std::int64_t refunded, std::int64_t pending) {
  PastSale p;
  p.sale.id = "0f3a9c1e-1111-4222-8333-444455556666";
  p.sale.currency = "usd";
  p.sale.total = 1312;
  p.sale.state = SaleState::Paid;
  PastSale::Payment pay;
  pay.attempt_id = "att_past";
  pay.payment_intent_id = "pi_past";
  pay.captured = 1312;
  pay.refunded = refunded;
  pay.refund_pending = pending;
  pay.refundable = 1312 - refunded - pending;
  p.payments.push_back(pay);
  p.captured = 1312;
  p.refundable = pay.refundable;
  return p;
}

}  // namespace

TEST_CASE("the receipt can be printed again and queued by email without the address reaching the model") {
  Till t = paid_sale();
  const std::string receipt = t.m.last_receipt;
  REQUIRE(t.m.last_receipt_input);
  CHECK(render_receipt(*t.m.last_receipt_input) == receipt);
  // Printed again from what it was rendered from, so an ESC/POS printer styles the reprint too.
  CHECK(t.dispatch(ReprintReceipt{}) == std::vector<Effect>{PrintReceipt{receipt, t.m.last_receipt_input}});
  CHECK(t.dispatch(EmailReceipt{" ada@example.com "}) ==
        std::vector<Effect>{QueueEmailReceipt{t.m.sale->id, "ada@example.com", receipt}});
  CHECK(t.m.notice.text.find("example.com") == std::string::npos);
  CHECK(t.dispatch(EmailQueued{true, ""}).empty());
  CHECK(t.m.notice.text == "Receipt queued for email");
  t.dispatch(EmailQueued{false, "address refused"});
  CHECK(t.m.notice.level == NoticeLevel::Warning);
  CHECK(t.dispatch(EmailReceipt{"not-an-address"}).empty());
  CHECK(t.m.notice.text == "That is not an email address");
  t.dispatch(PrintFailed{"/dev/usb/lp0: no printer behind it"});
  CHECK(t.m.notice == Notice{NoticeLevel::Warning, "The receipt did not print. The sale is saved; reprint from the receipt screen",
                             "/dev/usb/lp0: no printer behind it"});
  CHECK(t.m.sale->state == SaleState::Paid);  // printing never changes the sale

  Till fresh;
  CHECK(fresh.dispatch(ReprintReceipt{}).empty());
  CHECK(fresh.dispatch(EmailReceipt{"ada@example.com"}).empty());  // not on the receipt screen
}

TEST_CASE("a past sale is found by receipt number and refunded in full or in part, never beyond what is left") {
  Till t;
  CHECK(t.dispatch(FindSaleForRefund{"0f3a9c1e"}).empty());  // manager only
  t.dispatch(OpenBackOffice{"2468"});
  CHECK(t.dispatch(FindSaleForRefund{"0f3a"}).empty());
  CHECK(t.m.notice.text == "Type the receipt number (at least its first 8 characters)");
  CHECK(t.dispatch(FindSaleForRefund{" 0f3a9c1e "}) == std::vector<Effect>{LookUpSaleForRefund{"0f3a9c1e"}});
  CHECK(t.m.back_office.refund_lookup_running);
  t.dispatch(SaleForRefundFound{past_sale(300, 0)});
  REQUIRE(t.m.back_office.refund_sale);
  CHECK_FALSE(t.m.back_office.refund_lookup_running);

  // 1012 is left: 1013 is refused, a partial 500 is queued and the sale looked up again.
  CHECK(t.dispatch(RequestRefund{"0f3a9c1e-1111-4222-8333-444455556666", "att_past", "pi_past", 1013, "usd"}).empty());
  CHECK(t.m.notice.text == "At most USD 10.12 of this payment can still be refunded");
  const auto ids = t.next_ids(1);
  const auto fx = t.dispatch(RequestRefund{"0f3a9c1e-1111-4222-8333-444455556666", "att_past", "pi_past", 500, "usd"});
  REQUIRE(fx.size() == 4);
  const OperationIntent& op = std::get<EnqueueOperation>(fx[0]).intent;
  CHECK(op.kind == OperationKind::Refund);
  CHECK(op.payment_intent_id == "pi_past");
  CHECK(op.refund_amount == std::optional<std::int64_t>(500));
  CHECK(op.idempotency_key == ids[0]);
  CHECK(fx[2] == Effect{LoadBackOffice{}});
  CHECK(fx[3] == Effect{LookUpSaleForRefund{"0f3a9c1e-1111-4222-8333-444455556666"}});

  // The rest, in full.
  t.dispatch(SaleForRefundFound{past_sale(300, 500)});
  const auto rest = t.dispatch(RequestRefund{"0f3a9c1e-1111-4222-8333-444455556666", "att_past", "pi_past", 512, "usd"});
  REQUIRE_FALSE(rest.empty());
  CHECK(std::get<EnqueueOperation>(rest[0]).intent.refund_amount == std::optional<std::int64_t>(512));

  t.dispatch(SaleForRefundFailed{"no sale has receipt number 99999999"});
  CHECK_FALSE(t.m.back_office.refund_sale);
  CHECK(t.m.back_office.refund_lookup_error == "no sale has receipt number 99999999");
}

TEST_CASE("a refund the store refuses is shown as a refusal, not a storage failure, and stops the lookup") {
  Till t;
  t.dispatch(OpenBackOffice{"2468"});
  t.dispatch(FindSaleForRefund{"0f3a9c1e"});
  t.dispatch(SaleForRefundFound{past_sale(300, 0)});
  REQUIRE_FALSE(t.dispatch(RequestRefund{"0f3a9c1e-1111-4222-8333-444455556666", "att_past", "pi_past", 500, "usd"}).empty());
  CHECK(t.m.back_office.refund_lookup_running);
  // Another register refunded the rest meanwhile: the store refuses the operation at enqueue.
  CHECK(t.dispatch(RefundRefused{"only USD 2.00 is left to refund"}).empty());
  CHECK_FALSE(t.m.back_office.refund_lookup_running);
  CHECK(t.m.notice == Notice{NoticeLevel::Error, "Refund not queued: the register refused it (see the details)",
                             "only USD 2.00 is left to refund"});
  CHECK(t.m.storage_error.empty());
  CHECK(t.m.back_office.unlocked);
}

TEST_CASE("no tender is taken while the database check runs, and none at all once it failed") {
  Till t;
  t.ring_up();
  CHECK(t.dispatch(StoreCheckStarted{}).empty());
  CHECK(t.m.store_check == StoreCheck::Checking);
  CHECK(t.dispatch(Charge{}).empty());
  CHECK(t.m.notice.text == "Checking the register's database: try again in a moment");
  CHECK(t.dispatch(PayCash{2000}).empty());
  CHECK_FALSE(t.m.sale);
  CHECK(t.m.attempts.empty());

  SECTION("passed: the card is taken") {
    CHECK(t.dispatch(StoreChecked{true, ""}).empty());
    CHECK(t.m.store_check == StoreCheck::Passed);
    const auto fx = t.dispatch(Charge{});
    CHECK(count_of<PersistSale>(fx) == 1);
    CHECK(count_of<StartCollect>(fx) == 1);
    // A new sale keeps the check's result.
    t.dispatch(CancelPayment{});
    t.dispatch(CollectCanceled{t.attempt(0).id});
    t.dispatch(VoidSale{});
    CHECK(t.m.store_check == StoreCheck::Passed);
  }
  SECTION("failed: a blocking storage error, no tender, and a late 'ok' or restart of the check cannot clear it") {
    CHECK(t.dispatch(StoreChecked{false, "database disk image is malformed"}).empty());
    CHECK(t.m.store_check == StoreCheck::Failed);
    CHECK(t.m.store_check_error == "database disk image is malformed");
    CHECK_THAT(t.m.storage_error, Catch::Contains("database disk image is malformed"));
    CHECK(t.dispatch(Charge{}).empty());
    CHECK(t.m.notice.text == "The register's database is damaged: no sale can be taken, call support");
    CHECK(t.dispatch(PayCash{2000}).empty());
    t.dispatch(StoreCheckStarted{});
    t.dispatch(StoreChecked{true, ""});
    CHECK(t.m.store_check == StoreCheck::Failed);
    CHECK_FALSE(t.m.storage_error.empty());
    CHECK(t.dispatch(Charge{}).empty());
  }
}

TEST_CASE("a reader that disconnects after authorizing shows outcome unknown, and its not-charged resolution is no decline") {
  // The driver's OutcomeUnknown (terminal/protocol_reader.cpp) and the reader's disconnect come
  // in either order; then the runtime's resolver finds that nothing reached Stripe.
  for (bool disconnect_first : {true, false}) {
    INFO("disconnect first: " << disconnect_first);
    Till t;
    t.ring_up();
    t.dispatch(Charge{});
    const std::string id = t.attempt(0).id;
    std::vector<Notice> seen;
    auto step = [&](const Action& a) {
      auto fx = t.dispatch(a);
      seen.push_back(t.m.notice);
      return fx;
    };
    if (disconnect_first) step(ReaderStatusChanged{false, "Simulated reader", "disconnected"});
    step(PaymentOutcomeUnknown{id, "reader disconnected after it started authorising"});
    if (!disconnect_first) step(ReaderStatusChanged{false, "Simulated reader", "disconnected"});
    CHECK(t.m.phase == PaymentPhase::InDoubt);
    CHECK(t.attempt(0).state == AttemptState::InDoubt);
    CHECK(t.m.notice.text == kInDoubtText);
    CHECK_THAT(t.m.notice.text, Catch::StartsWith("Outcome unknown") && Catch::Contains("Do not retry the card"));
    CHECK(t.dispatch(RetryWithAnotherCard{}).empty());  // refused with the same words
    CHECK(t.m.notice.text == kInDoubtText);

    const auto resolved = step(InDoubtResolved{id, AttemptEvent::NotCharged, {}, {},
                                               "Nothing reached Stripe: the card was not charged", {}});
    PaymentAttempt a = t.attempt(0);
    CHECK(a.state == AttemptState::Canceled);
    CHECK(a.decline_code.empty());
    CHECK(resolved == std::vector<Effect>{UpdateAttempt{a, AttemptEvent::NotCharged}});  // no declined receipt
    CHECK(t.m.phase == PaymentPhase::Failed);
    CHECK(t.m.notice == Notice{NoticeLevel::Warning, "Not charged: Nothing was charged. Try the card again or pay another way",
                               "Nothing reached Stripe: the card was not charged"});
    // The reader's late report of the same loss changes nothing now.
    CHECK(step(PaymentOutcomeUnknown{id, "reader disconnected after it started authorising"}).empty());
    for (const Notice& n : seen) {
      INFO(n.text);
      CHECK(n.text.find("eclin") == std::string::npos);
    }
    t.dispatch(ReaderStatusChanged{true, "Simulated reader", "reconnected"});
    CHECK(count_of<StartCollect>(t.dispatch(RetryWithAnotherCard{})) == 1);  // safe: nothing was charged
  }
}

TEST_CASE("an in-doubt payment Stripe canceled is not charged, and only a verdict ends in doubt") {
  Till t;
  t.ring_up();
  t.dispatch(Charge{});
  const std::string id = t.attempt(0).id;
  t.dispatch(CardCollected{id, "pm_1", visa(), false});
  t.dispatch(PaymentOutcomeUnknown{id, "outcome_unknown: no answer to a write (it may have been applied): read response: "
                                       "Connection reset by peer"});
  // The transport's words are details, never the cashier's.
  CHECK(t.m.notice.text == kInDoubtText);
  CHECK_THAT(t.m.notice.details, Catch::Contains("Connection reset by peer"));
  const Model in_doubt = t.m;
  // Not a verdict: changes nothing.
  CHECK(t.dispatch(InDoubtResolved{id, AttemptEvent::Submitted, {}, {}, {}, {}}).empty());
  CHECK(t.m == in_doubt);
  const auto fx = t.dispatch(InDoubtResolved{id, AttemptEvent::StripeCanceled, "pi_1", {}, "canceled at Stripe", {}});
  CHECK(t.attempt(0).state == AttemptState::Canceled);
  CHECK(fx == std::vector<Effect>{UpdateAttempt{t.attempt(0), AttemptEvent::StripeCanceled}});
  CHECK(t.m.phase == PaymentPhase::Failed);
  CHECK_THAT(t.m.notice.text, Catch::StartsWith("Not charged"));
}
