// Store and forward end to end (stripe.md section 8): the in-process simulated reader
// (hardware-sim's ReaderDevice through the `sim` driver) stores a card while the shop is offline,
// the sale is kept as the kiosk keeps it (attempt stored_offline with the reader's token, the
// PaymentIntent operation built by sync::make_payment_intent_operation in the outbox), and once
// back online the sync engine forwards it to the in-process till-stripe-sim. The reader's token
// names the test card (pm_test_<card>_<letters>), so a card that declines is declined by
// "Stripe" when forwarded: declined_after_forward, on the attention list with the customer's
// contact, nothing charged. An approving card is charged exactly once.
#include <catch2/catch.hpp>

#include <boost/asio/steady_timer.hpp>

#include "../sync/engine_fixture.hpp"
#include "till/hwsim/reader_device.hpp"
#include "till/terminal/drivers.hpp"

using namespace till;
using namespace till::sync::testing;
using namespace std::chrono_literals;

namespace {

struct OfflineShop : EngineHarness {
  OfflineShop() : device(device_config()) {
    terminal::ProtocolReaderOptions ro;
    ro.cancel_grace = 200ms;
    reader = terminal::make_sim_reader(io, device, ro);
    std::optional<Result<terminal::ReaderInfo>> got;
    reader->async_connect({}, 2s, [&](auto r) { got = std::move(r); });
    REQUIRE(run_until([&] { return got.has_value(); }));
    REQUIRE(*got);
    // The shop's internet is down: the reader cannot go online and Stripe cannot be reached.
    sim->api().set_faults({*stripesim::parse_fault("reset")});
  }
  ~OfflineShop() { reader.reset(); }

  static hwsim::DeviceConfig device_config() {
    hwsim::DeviceConfig c;
    c.online = false;
    c.offline_capacity = 5;
    c.seed = 11;
    c.present_delay = c.read_delay = c.authorize_delay = 0ms;
    return c;
  }

  hwsim::ReaderDevice device;
  std::unique_ptr<terminal::Reader> reader;

  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 5s) {
    auto expired = std::make_shared<bool>(false);
    boost::asio::steady_timer watchdog(io, limit);
    watchdog.async_wait([expired](auto ec) {
      if (!ec) *expired = true;
    });
    io.restart();
    while (!pred() && !*expired)
      if (io.run_one() == 0) break;
    watchdog.cancel();
    io.restart();
    return pred();
  }

  // The customer pays with `card` at the counter while offline; the kiosk keeps the payment the
  // way the reducer and runtime do (stored_offline + the keyed PaymentIntent operation).
  Queued sell_offline(const std::string& card, std::int64_t amount) {
    Queued q;
    q.sale = make_sale(new_uuid_v4(ids), kAccount, amount, clock.now());
    REQUIRE(store->sales().persist(q.sale));
    pos::PaymentAttempt& a = q.attempt;
    a.id = new_uuid_v4(ids);
    a.sale_id = q.sale.id;
    a.tender = pos::TenderKind::Card;
    a.state = pos::AttemptState::Collecting;
    a.amount = amount;
    a.currency = "usd";
    a.account_id = kAccount;
    a.idempotency_key = new_uuid_v4(ids);
    a.created_at = clock.now();
    REQUIRE(store->attempts().create(a));

    device.queue_payment(hwsim::scripted_card(card, hwsim::Fault::None, hwsim::ReadMethod::Contact));
    terminal::CollectOptions o;
    o.offline_allowed = true;
    o.deadline = 3s;
    std::optional<Result<terminal::CollectOutcome>> got;
    reader->async_collect(pos::Money(amount, pos::Currency::of("usd")), o, [&](auto r) { got = std::move(r); });
    REQUIRE(run_until([&] { return got.has_value(); }));
    REQUIRE(*got);
    const auto* stored = std::get_if<terminal::ApprovedToForward>(&**got);
    REQUIRE(stored != nullptr);
    REQUIRE(stored->stored_offline);

    a.state = pos::AttemptState::StoredOffline;
    a.offline = true;
    a.payment_method = stored->payment_method;
    a.card = stored->card;
    REQUIRE(store->attempts().update(
        store::AttemptUpdate{.attempt_id = a.id,
                             .event = pos::AttemptEvent::StoredOffline,
                             .payment_method = a.payment_method,
                             .card = a.card}));
    sync::PaymentIntentOptions po;
    po.fee = kFee;
    auto op = sync::make_payment_intent_operation(q.sale, a, po, clock.now());
    REQUIRE(op);
    auto id = store->outbox().enqueue(*op);
    REQUIRE(id);
    q.op_id = *id;
    return q;
  }

  // The internet comes back: the reader and Stripe are reachable; the engine's backoff elapses.
  void back_online() {
    sim->api().set_faults({});
    device.set_online(true);
    clock.advance(std::chrono::hours(1));
  }
};

}  // namespace

TEST_CASE("a declining card stored offline is declined_after_forward on the attention list and nothing is charged",
          "[offline-forward]") {
  OfflineShop shop;
  auto q = shop.sell_offline("insufficient_funds", 2400);
  CHECK(q.attempt.payment_method.rfind("pm_test_insufficientFunds_", 0) == 0);
  CHECK(shop.device.offline_stored() == 1);

  // Still offline: the engine tries, nothing reaches Stripe, nothing is lost.
  shop.drain();
  CHECK(shop.ledger_for(q.sale.id).empty());
  CHECK(shop.op(q.op_id).state == pos::OutboxState::FailedRetryable);
  CHECK_FALSE(pos::is_final(shop.attempt(q).state));

  shop.back_online();
  shop.drain();
  const auto a = shop.attempt(q);
  CHECK(a.state == pos::AttemptState::DeclinedAfterForward);
  CHECK(a.decline_code == "insufficient_funds");
  CHECK(shop.op(q.op_id).state == pos::OutboxState::Done);

  auto attention = shop.store->journal().attention().value();
  REQUIRE(attention.size() == 1);
  CHECK(attention[0].attempt_id == q.attempt.id);
  CHECK(attention[0].reason == "declined_after_forward");
  CHECK(attention[0].customer_contact == "customer@example.com");
  CHECK(attention[0].amount == 2400);
  CHECK(attention[0].decline_code == "insufficient_funds");

  // Stripe's books: one PaymentIntent for the sale, declined, nothing received.
  auto ledger = shop.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].status == "requires_payment_method");
  CHECK(ledger[0].amount_received == 0);
  CHECK(ledger[0].amount_capturable == 0);
}

TEST_CASE("an approving card stored offline is approved when forwarded, with exactly one PaymentIntent",
          "[offline-forward]") {
  OfflineShop shop;
  auto q = shop.sell_offline("visa", 1800);
  CHECK(q.attempt.payment_method.rfind("pm_test_visa_", 0) == 0);
  shop.drain();
  CHECK(shop.ledger_for(q.sale.id).empty());

  shop.back_online();
  shop.drain();
  const auto a = shop.attempt(q);
  CHECK(a.state == pos::AttemptState::Approved);
  CHECK_FALSE(a.payment_intent_id.empty());
  CHECK(shop.store->journal().attention().value().empty());
  auto ledger = shop.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].id == a.payment_intent_id);
  CHECK(ledger[0].status == "succeeded");
  CHECK(ledger[0].amount_received == 1800);
  CHECK(ledger[0].application_fee_amount == kFee.fee_for(1800).value());
  // Draining again sends nothing more.
  shop.drain();
  CHECK(shop.ledger_for(q.sale.id).size() == 1);
}

TEST_CASE("a mixed offline backlog forwards each stored card to its own outcome", "[offline-forward]") {
  OfflineShop shop;
  const std::pair<const char*, pos::AttemptState> cards[] = {
      {"mastercard", pos::AttemptState::Approved},
      {"lost_card", pos::AttemptState::DeclinedAfterForward},
      {"declined", pos::AttemptState::DeclinedAfterForward},
      {"offline_pin", pos::AttemptState::Approved},
  };
  std::vector<Queued> sold;
  for (const auto& [card, want] : cards) sold.push_back(shop.sell_offline(card, 1000));
  CHECK(shop.device.offline_stored() == 4);
  shop.back_online();
  CHECK(shop.device.offline_stored() == 0);  // uploaded: the reader's storage is free again
  shop.drain();
  for (std::size_t i = 0; i < sold.size(); ++i) {
    INFO(cards[i].first);
    CHECK(shop.attempt(sold[i]).state == cards[i].second);
    CHECK(shop.ledger_for(sold[i].sale.id).size() == 1);
  }
  CHECK(shop.attempt(sold[2]).decline_code == "generic_decline");
  CHECK(shop.store->journal().attention().value().size() == 2);
}
