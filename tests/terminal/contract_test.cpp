// The shared reader contract: the SAME cases run against every driver (TEMPLATE_TEST_CASE over
// the harnesses). A driver that passes behaves like a reader the app can trust (lesson 18).
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>

#include "reader_harness.hpp"

// The same cases, compiled a second time with TILL_CONTRACT_USB, run against the usb driver
// (libusb through umockdev: tests/terminal/usb_harness.hpp) in their own binary, which CTest
// starts under umockdev-wrapper.
// With TILL_CONTRACT_VHCI they run inside the tier-2 VM against the real kernel USB stack
// (tests/usb-vm/vhci_harness.hpp).
#if defined(TILL_CONTRACT_VHCI)
#include "vhci_harness.hpp"
#define TILL_CONTRACT_HARNESSES VhciHarness
#elif defined(TILL_CONTRACT_USB)
#include "usb_harness.hpp"
#define TILL_CONTRACT_HARNESSES UsbHarness
#else
#define TILL_CONTRACT_HARNESSES SimHarness, TcpHarness
#endif
#include "till/hwsim/test_cards.hpp"
#include "till/terminal/protocol/messages.hpp"

using namespace till;
using namespace till::terminal;
using namespace till::terminal::testing;
using hwsim::Fault;
using hwsim::ReadMethod;
using hwsim::ScriptedPayment;

namespace {

hwsim::ScriptedPayment card(std::string name, Fault fault = Fault::None, ReadMethod m = ReadMethod::Contact) {
  ScriptedPayment p;
  p.card = std::move(name);
  p.fault = fault;
  p.method = m;
  return p;
}

template <class T>
const T* as(const Result<CollectOutcome>& r) {
  if (!r) return nullptr;
  return std::get_if<T>(&*r);
}

CollectOptions with_deadline(std::chrono::milliseconds d) {
  CollectOptions o;
  o.deadline = d;
  return o;
}
CollectOptions offline_ok() {
  CollectOptions o;
  o.offline_allowed = true;
  o.deadline = 3s;
  return o;
}

std::string show(const Result<CollectOutcome>& r) { return r ? describe(*r) : "error " + r.error().describe(); }

// Every text a result carries: none may look like a card number.
void require_no_pan(const ApprovedToForward& a) {
  for (const std::string* s : {&a.payment_method, &a.card.brand, &a.card.last4, &a.card.exp_month_year,
                               &a.card.read_method, &a.card.application_label, &a.card.authorization_code,
                               &a.card.terminal_verification_results, &a.card.cardholder_verification})
    REQUIRE_FALSE(protocol::looks_like_card_number(*s));
  for (const auto& c : hwsim::test_cards()) REQUIRE(a.payment_method.find(c.number) == std::string::npos);
}

}  // namespace

TEMPLATE_TEST_CASE("discover finds the reader and connect reports its identity and status", "[contract]",
                   TILL_CONTRACT_HARNESSES) {
  TestType h;
  std::optional<Result<std::vector<ReaderInfo>>> found;
  h.reader->async_discover(1s, [&](auto r) { found = std::move(r); });
  REQUIRE(h.run_until([&] { return found.has_value(); }));
  REQUIRE(*found);
  REQUIRE((*found)->size() == 1);
  const ReaderInfo info = (**found)[0];
  CHECK(info.serial == "SIM-0001");
  CHECK(info.driver == TestType::kName);

  auto c = h.connect();
  REQUIRE(c);
  CHECK(c->id == info.id);
  const ReaderStatus s = h.reader->status();
  CHECK(s.connection == ConnectionState::Connected);
  CHECK(s.battery_percent == 100);
  CHECK(s.firmware_version == "1.4.0");
  CHECK(s.offline_capable);
  CHECK(s.offline_capacity == 5);

  // Connecting twice is refused, not queued.
  std::optional<Result<ReaderInfo>> again;
  h.reader->async_connect({}, 1s, [&](auto r) { again = std::move(r); });
  REQUIRE(h.run_until([&] { return again.has_value(); }));
  REQUIRE_FALSE(*again);
  CHECK(again->error().kind == ErrorKind::FailedPrecondition);
}

TEMPLATE_TEST_CASE("operations before connect fail Unavailable", "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  auto r = h.collect(1000);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK(h.device.collects_received() == 0);
}

TEMPLATE_TEST_CASE("each approve test card yields approved-to-forward with a token and receipt fields, never a PAN",
                   "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  struct Want {
    const char* card;
    const char* brand;
    const char* last4;
    ReadMethod method;
    const char* cvm;
  };
  const Want wants[] = {
      {"visa", "visa", "4242", ReadMethod::Contact, "signature"},
      {"mastercard", "mastercard", "4444", ReadMethod::Contactless, "none"},
      {"amex", "amex", "0005", ReadMethod::Contact, "signature"},
      {"discover", "discover", "1117", ReadMethod::Contactless, "none"},
      {"interac", "interac", "1933", ReadMethod::Contact, "signature"},
      {"offline_pin", "visa", "0002", ReadMethod::Contact, "offline_pin"},
      {"online_pin", "visa", "0005", ReadMethod::Contact, "online_pin"},
      {"4242 4242 4242 4242", "visa", "4242", ReadMethod::Swipe, "signature"},
  };
  for (const auto& w : wants) {
    INFO(w.card);
    h.device.queue_payment(card(w.card, Fault::None, w.method));
    auto r = h.collect(1000);
    const auto* a = as<ApprovedToForward>(r);
    INFO(show(r));
    REQUIRE(a != nullptr);
    CHECK(a->payment_method.rfind("pm_", 0) == 0);
    CHECK(a->card.brand == w.brand);
    CHECK(a->card.last4 == w.last4);
    CHECK(a->card.exp_month_year == "12/34");
    CHECK(a->card.cardholder_verification == w.cvm);
    CHECK_FALSE(a->stored_offline);
    if (w.method == ReadMethod::Swipe) {
      CHECK(a->card.read_method == "magnetic_stripe_fallback");
    } else {
      CHECK(a->card.application_id.rfind("A0000", 0) == 0);
      CHECK_FALSE(a->card.application_label.empty());
      CHECK(a->card.authorization_code.size() == 6);
    }
    require_no_pan(*a);
  }
  CHECK(h.saw(ReaderEventKind::CardInserted));
  CHECK(h.saw(ReaderEventKind::CardTapped));
  CHECK(h.saw(ReaderEventKind::PromptEnterPin));
  CHECK(h.saw(ReaderEventKind::Authorizing));
}

TEMPLATE_TEST_CASE("each decline test card yields Declined with Stripe's decline code", "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  const std::pair<const char*, const char*> cases[] = {
      {"4000000000000002", "card_declined"}, {"4000000000009995", "insufficient_funds"},
      {"4000000000009987", "lost_card"},     {"4000000000009979", "stolen_card"},
      {"4000000000000069", "expired_card"},  {"4000000000000119", "processing_error"},
  };
  for (const auto& [number, code] : cases) {
    INFO(code);
    h.device.queue_payment(card(number));
    auto r = h.collect(1000);
    INFO(show(r));
    const auto* d = as<Declined>(r);
    REQUIRE(d != nullptr);
    CHECK(d->decline_code == code);
  }
}

TEMPLATE_TEST_CASE("amount endings decline an approving card with Stripe's test codes", "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  const std::pair<std::int64_t, const char*> cases[] = {{1001, "call_issuer"},
                                                        {1005, "generic_decline"},
                                                        {1055, "incorrect_pin"},
                                                        {1065, "withdrawal_count_limit_exceeded"},
                                                        {1075, "pin_try_exceeded"}};
  for (const auto& [amount, code] : cases) {
    INFO(amount);
    h.device.queue_payment(card("visa"));
    auto r = h.collect(amount);
    const auto* d = as<Declined>(r);
    REQUIRE(d != nullptr);
    CHECK(d->decline_code == code);
  }
  h.device.queue_payment(card("visa"));
  CHECK(as<ApprovedToForward>(h.collect(1099)) != nullptr);
}

TEMPLATE_TEST_CASE("cancel while waiting for a card ends Cancelled and the reader is free again", "[contract]",
                   TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  std::optional<Result<CollectOutcome>> got;
  CancelHandle handle = h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s),
                                                [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return h.device.waiting_for_card(); }));
  handle.cancel();
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  const auto* c = as<Cancelled>(*got);
  REQUIRE(c != nullptr);
  CHECK(c->reason == "requested");
  CHECK_FALSE(h.device.collecting());
  // A stale handle does nothing; cancel with nothing running is refused.
  handle.cancel();
  CHECK(h.reader->cancel().error().kind == ErrorKind::FailedPrecondition);
  h.device.queue_payment(card("visa"));
  CHECK(as<ApprovedToForward>(h.collect(1000)) != nullptr);
}

TEMPLATE_TEST_CASE("a second operation while a collect runs fails FailedPrecondition and is never queued",
                   "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  std::optional<Result<CollectOutcome>> first, second;
  std::optional<Status> display;
  std::optional<Result<ReaderStatus>> refreshed;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s),
                          [&](auto r) { first = std::move(r); });
  h.reader->async_collect(pos::Money(2000, pos::Currency::of("usd")), with_deadline(3s),
                          [&](auto r) { second = std::move(r); });
  h.reader->async_set_display(Cart{"usd", {{"Tea", 1, 300}}, 0, 300}, 1s, [&](Status s) { display = s; });
  h.reader->async_refresh_status(1s, [&](auto r) { refreshed = std::move(r); });
  REQUIRE(h.run_until([&] { return second && display && refreshed && h.device.waiting_for_card(); }));
  REQUIRE_FALSE(*second);
  CHECK(second->error().kind == ErrorKind::FailedPrecondition);
  REQUIRE_FALSE(*display);
  CHECK(display->error().kind == ErrorKind::FailedPrecondition);
  REQUIRE_FALSE(*refreshed);
  CHECK(refreshed->error().kind == ErrorKind::FailedPrecondition);
  CHECK(h.device.collects_received() == 1);

  REQUIRE(h.device.present_card("visa"));
  REQUIRE(h.run_until([&] { return first.has_value(); }));
  CHECK(as<ApprovedToForward>(*first) != nullptr);
  h.drain();
  // Nothing was queued behind the collect: the reader saw one collect and no display.
  CHECK(h.device.collects_received() == 1);
  CHECK(h.device.display().lines.empty());
}

TEMPLATE_TEST_CASE("a collect past its deadline is cancelled on the reader and ends Cancelled", "[contract]",
                   TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  auto r = h.collect(1000, with_deadline(30ms));
  const auto* c = as<Cancelled>(r);
  INFO(show(r));
  REQUIRE(c != nullptr);
  CHECK(c->reason == "deadline");
}

TEMPLATE_TEST_CASE("an unresponsive reader past the deadline ends OutcomeUnknown, never Declined", "[contract]",
                   TILL_CONTRACT_HARNESSES) {
  ProtocolReaderOptions opts = fast_options();
  opts.cancel_grace = 30ms;
  TestType h({}, opts);
  REQUIRE(h.connect());
  h.device.queue_payment(card("declined", Fault::Unresponsive));
  auto r = h.collect(1000, with_deadline(30ms));
  INFO(show(r));
  CHECK(as<OutcomeUnknown>(r) != nullptr);
}

TEMPLATE_TEST_CASE("the reader's own timeout with no card fails Unavailable", "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  h.device.queue_payment(card("", Fault::Timeout));
  auto r = h.collect(1000);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK_THAT(r.error().message, Catch::Contains("timeout"));
}

TEMPLATE_TEST_CASE("a card removed mid-read fails Unavailable and nothing is approved", "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  h.device.queue_payment(card("visa", Fault::CardRemovedMidRead));
  auto r = h.collect(1000);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK_THAT(r.error().message, Catch::Contains("card_removed"));
  CHECK(h.saw(ReaderEventKind::CardRemoved));
  CHECK_FALSE(h.saw(ReaderEventKind::Authorizing));
}

TEMPLATE_TEST_CASE("a failed read prompts for another card and the next card completes the payment", "[contract]",
                   TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  h.device.queue_payment(card("visa", Fault::CardReadFailed));
  std::optional<Result<CollectOutcome>> got;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s),
                          [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::PromptTryAnotherCard) && h.device.waiting_for_card(); }));
  REQUIRE(h.device.present_card("mastercard", ReadMethod::Contactless));
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  const auto* a = as<ApprovedToForward>(*got);
  REQUIRE(a != nullptr);
  CHECK(a->card.brand == "mastercard");
}

TEMPLATE_TEST_CASE("a PIN prompt waits for the customer and the PIN never crosses the interface", "[contract]",
                   TILL_CONTRACT_HARNESSES) {
  hwsim::DeviceConfig cfg;
  cfg.auto_pin = false;
  TestType h(cfg);
  REQUIRE(h.connect());
  h.device.queue_payment(card("offline_pin"));
  std::optional<Result<CollectOutcome>> got;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s),
                          [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return h.device.waiting_for_pin(); }));
  CHECK(h.reader->status().connection == ConnectionState::Connected);
  REQUIRE(h.device.enter_pin());
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  const auto* a = as<ApprovedToForward>(*got);
  REQUIRE(a != nullptr);
  CHECK(a->card.cardholder_verification == "offline_pin");
  h.drain();
  CHECK(h.saw(ReaderEventKind::PromptEnterPin));
  CHECK(h.saw(ReaderEventKind::PinEntered));
}

TEMPLATE_TEST_CASE("a disconnect before authorization ends in an error, never approved or declined", "[contract]",
                   TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  h.device.queue_payment(card("visa", Fault::DisconnectBeforeAuthorization));
  auto r = h.collect(1000);
  INFO(show(r));
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK_THAT(r.error().message, Catch::Contains("nothing was charged"));
  CHECK(h.saw(ReaderEventKind::Disconnected));
  CHECK(h.reader->status().connection == ConnectionState::Disconnected);
  REQUIRE_FALSE(h.device.records().empty());
  CHECK(h.device.records().back().outcome == "abandoned");
}

TEMPLATE_TEST_CASE("a disconnect after authorization ends OutcomeUnknown, never Declined", "[contract]", TILL_CONTRACT_HARNESSES) {
  for (const char* which : {"insufficient_funds", "visa"}) {
    INFO(which);
    TestType h;
    REQUIRE(h.connect());
    h.device.queue_payment(card(which, Fault::DisconnectAfterAuthorization));
    auto r = h.collect(1000);
    INFO(show(r));
    const auto* u = as<OutcomeUnknown>(r);
    REQUIRE(u != nullptr);
    CHECK_THAT(u->reason, Catch::Contains("authoris"));
    // The reader did decide: the host must reconcile, not guess.
    REQUIRE_FALSE(h.device.records().empty());
    CHECK(h.device.records().back().outcome.rfind("lost:", 0) == 0);
  }
}

TEMPLATE_TEST_CASE("slow responses still complete a payment within its deadline", "[contract]", TILL_CONTRACT_HARNESSES) {
  hwsim::DeviceConfig cfg;
  cfg.response_delay = 15ms;
  TestType h(cfg);
  REQUIRE(h.connect());
  h.device.queue_payment(card("insufficient_funds"));
  auto r = h.collect(1000, with_deadline(2s));
  const auto* d = as<Declined>(r);
  REQUIRE(d != nullptr);
  CHECK(d->decline_code == "insufficient_funds");
}

TEMPLATE_TEST_CASE("a decision slower than the cancel grace is OutcomeUnknown once the reader was deciding",
                   "[contract]", TILL_CONTRACT_HARNESSES) {
  hwsim::DeviceConfig cfg;
  cfg.authorize_delay = 1000ms;  // the decision takes far longer than the grace below
  ProtocolReaderOptions opts = fast_options();
  opts.cancel_grace = 40ms;
  TestType h(cfg, opts);
  REQUIRE(h.connect());
  h.device.queue_payment(card("declined"));
  std::optional<Result<CollectOutcome>> got;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s),
                          [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Authorizing); }));
  // Same path as a deadline: cancel, the reader says "too late", and no answer comes in time.
  REQUIRE(h.reader->cancel());
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  INFO(show(*got));
  CHECK(as<OutcomeUnknown>(*got) != nullptr);
}

TEMPLATE_TEST_CASE("garbage and corrupted frames from the reader are dropped and the payment completes once",
                   "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  int completions = 0;
  std::optional<Result<CollectOutcome>> got;
  ScriptedPayment p = card("visa");
  p.garbage_frames = 6;
  h.device.queue_payment(p);
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s), [&](auto r) {
    ++completions;
    got = std::move(r);
  });
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  h.drain();
  CHECK(completions == 1);
  CHECK(as<ApprovedToForward>(*got) != nullptr);
  CHECK(h.count(ReaderEventKind::ProtocolError) >= 6);
  CHECK(h.count(ReaderEventKind::CardInserted) == 1);
  CHECK(h.reader->status().connection == ConnectionState::Connected);
}

TEMPLATE_TEST_CASE("a required firmware update refuses payments until it is installed", "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  h.device.require_update();
  h.device.queue_payment(card("visa"));
  auto r = h.collect(1000);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  CHECK(h.saw(ReaderEventKind::UpdateRequired));
  CHECK(h.reader->status().update_required);

  std::optional<Status> installed;
  h.reader->async_install_update(2s, [&](Status s) { installed = s; });
  REQUIRE(h.run_until([&] { return installed.has_value(); }));
  REQUIRE(*installed);
  h.drain();
  CHECK(h.count(ReaderEventKind::FirmwareProgress) == 4);
  CHECK_FALSE(h.reader->status().update_required);
  CHECK(h.reader->status().firmware_version == "1.5.0");
  h.device.queue_payment(card("visa"));
  CHECK(as<ApprovedToForward>(h.collect(1000)) != nullptr);
}

TEMPLATE_TEST_CASE("a busy reader refuses the collect with FailedPrecondition", "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  h.device.queue_payment(card("visa", Fault::ReaderBusy));
  auto r = h.collect(1000);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  CHECK_THAT(r.error().message, Catch::Contains("busy"));
}

TEMPLATE_TEST_CASE("offline collection is stored within capacity and refused beyond it or when not allowed",
                   "[contract]", TILL_CONTRACT_HARNESSES) {
  hwsim::DeviceConfig cfg;
  cfg.online = false;
  cfg.offline_capacity = 2;
  TestType h(cfg);
  REQUIRE(h.connect());
  CHECK_FALSE(h.reader->status().reader_online);

  h.device.queue_payment(card("visa"));
  auto not_allowed = h.collect(1000);
  REQUIRE_FALSE(not_allowed);
  CHECK(not_allowed.error().kind == ErrorKind::Unavailable);

  for (const char* c : {"online_pin", "interac"}) {
    h.device.queue_payment(card(c));
    auto refused = h.collect(1000, offline_ok());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::FailedPrecondition);
  }

  // A decline card is approved offline: the issuer is only asked when the payment is forwarded.
  for (const char* c : {"visa", "insufficient_funds"}) {
    h.device.queue_payment(card(c));
    auto r = h.collect(1000, offline_ok());
    const auto* a = as<ApprovedToForward>(r);
    INFO(show(r));
    REQUIRE(a != nullptr);
    CHECK(a->stored_offline);
  }
  CHECK(h.device.offline_stored() == 2);
  CHECK(h.reader->status().offline_stored == 2);

  h.device.queue_payment(card("mastercard"));
  auto full = h.collect(1000, offline_ok());
  REQUIRE_FALSE(full);
  CHECK(full.error().kind == ErrorKind::ResourceExhausted);

  // Its network back, the reader uploads what it stored: offline there is room again.
  h.device.set_online(true);
  h.device.set_online(false);
  CHECK(h.device.offline_stored() == 0);
  h.device.queue_payment(card("mastercard"));
  auto again = h.collect(1000, offline_ok());
  const auto* stored = as<ApprovedToForward>(again);
  INFO(show(again));
  REQUIRE(stored != nullptr);
  CHECK(stored->stored_offline);
  CHECK(h.device.offline_stored() == 1);
}

TEMPLATE_TEST_CASE("set_display shows the cart on the reader", "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  REQUIRE(h.set_display(Cart{"eur", {{"Espresso", 2, 500}, {"Croissant", 1, 250}}, 60, 810}));
  REQUIRE(h.device.display().lines.size() == 2);
  CHECK(h.device.display().lines[0].description == "Espresso");
  CHECK(h.device.display().total == 810);
  // A cart line that smuggles a card number is refused before it reaches the wire.
  auto bad = h.set_display(Cart{"eur", {{"4242424242424242", 1, 1}}, 0, 1});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == ErrorKind::InvalidArgument);
}

TEMPLATE_TEST_CASE("battery changes reach the status and a low battery is an event", "[contract]", TILL_CONTRACT_HARNESSES) {
  TestType h;
  REQUIRE(h.connect());
  h.device.set_battery(9);
  REQUIRE(h.run_until([&] { return h.reader->status().battery_percent == 9; }));
  h.drain();
  CHECK(h.saw(ReaderEventKind::BatteryLow));
  std::optional<Result<ReaderStatus>> refreshed;
  h.reader->async_refresh_status(1s, [&](auto r) { refreshed = std::move(r); });
  REQUIRE(h.run_until([&] { return refreshed.has_value(); }));
  REQUIRE(*refreshed);
  CHECK((*refreshed)->battery_percent == 9);
}

TEMPLATE_TEST_CASE("a cancel after the reader started deciding never turns an approval into a cancellation",
                   "[contract]", TILL_CONTRACT_HARNESSES) {
  hwsim::DeviceConfig cfg;
  cfg.authorize_delay = 50ms;
  ProtocolReaderOptions opts = fast_options();
  opts.cancel_grace = 3s;  // the real answer (50 ms away) must win, even on a loaded machine
  TestType h(cfg, opts);
  REQUIRE(h.connect());
  h.device.queue_payment(card("visa"));
  std::optional<Result<CollectOutcome>> got;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s),
                          [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Authorizing); }));
  REQUIRE(h.reader->cancel());
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  INFO(show(*got));
  CHECK(as<ApprovedToForward>(*got) != nullptr);
}

TEMPLATE_TEST_CASE("reconnect after an unexpected disconnect is opt-in and reports each attempt", "[contract]",
                   TILL_CONTRACT_HARNESSES) {
  SECTION("without opt-in the reader stays disconnected") {
    TestType h;
    REQUIRE(h.connect());
    h.device.unplug();
    REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Disconnected); }));
    h.drain();
    CHECK(h.reader->status().connection == ConnectionState::Disconnected);
    CHECK_FALSE(h.saw(ReaderEventKind::ReconnectAttempt));
  }
  SECTION("with opt-in it retries until the reader is back") {
    ProtocolReaderOptions opts = fast_options();
    opts.reconnect = {true, 10, 10ms, 500ms};
    TestType h({}, opts);
    REQUIRE(h.connect());
    h.device.unplug();
    REQUIRE(h.run_until([&] { return h.count(ReaderEventKind::ReconnectAttempt) >= 2; }));
    CHECK(h.reader->status().connection == ConnectionState::Reconnecting);
    // While reconnecting, payments are refused (never queued).
    auto r = h.collect(1000);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::Unavailable);
    h.device.plug();
    REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Reconnected); }));
    CHECK(h.reader->status().connection == ConnectionState::Connected);
    h.device.queue_payment(card("visa"));
    CHECK(as<ApprovedToForward>(h.collect(1000)) != nullptr);
  }
  SECTION("with opt-in it gives up after the configured attempts") {
    ProtocolReaderOptions opts = fast_options();
    opts.reconnect = {true, 3, 5ms, 200ms};
    TestType h({}, opts);
    REQUIRE(h.connect());
    h.device.unplug();
    REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::ReconnectFailed); }));
    CHECK(h.count(ReaderEventKind::ReconnectAttempt) == 3);
    CHECK(h.reader->status().connection == ConnectionState::Disconnected);
  }
}

TEMPLATE_TEST_CASE("a payment interrupted by an unplug while deciding, with reconnect on, is OutcomeUnknown",
                   "[contract]", TILL_CONTRACT_HARNESSES) {
  hwsim::DeviceConfig cfg;
  cfg.authorize_delay = 100ms;
  ProtocolReaderOptions opts = fast_options();
  opts.reconnect = {true, 5, 10ms, 500ms};
  TestType h(cfg, opts);
  REQUIRE(h.connect());
  h.device.queue_payment(card("declined"));
  std::optional<Result<CollectOutcome>> got;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s),
                          [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Authorizing); }));
  h.device.unplug();
  h.device.plug();
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  INFO(show(*got));
  CHECK(as<OutcomeUnknown>(*got) != nullptr);
  REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Reconnected); }));
}

TEMPLATE_TEST_CASE("many consecutive payments keep working on one connection", "[contract][soak]", TILL_CONTRACT_HARNESSES) {
#if defined(TILL_CONTRACT_VHCI)
  // Inside the tier-2 VM every frame crosses the emulated (TCG) kernel: ~0.1 s a payment.
#ifdef TILL_LONG_TESTS_ON
  const int n = 1000;
#else
  const int n = 40;
#endif
#elif defined(TILL_LONG_TESTS_ON)
  const int n = 5000;
#else
  const int n = 150;
#endif
  hwsim::DeviceConfig cfg;  // no simulated delays: this case is about state, not timing
  cfg.present_delay = cfg.read_delay = cfg.authorize_delay = 0ms;
  TestType h(cfg);
  REQUIRE(h.connect());
  const char* cards[] = {"visa", "mastercard", "insufficient_funds", "amex", "offline_pin"};
  int approved = 0, declined = 0;
  for (int i = 0; i < n; ++i) {
    h.device.queue_payment(card(cards[i % 5], Fault::None, i % 2 ? ReadMethod::Contactless : ReadMethod::Contact));
    auto r = h.collect(1000 + (i % 7) * 100);
    REQUIRE(r);
    if (as<ApprovedToForward>(r)) ++approved;
    if (as<Declined>(r)) ++declined;
    h.events.clear();
  }
  CHECK(approved == n - n / 5);
  CHECK(declined == n / 5);
  CHECK(h.device.collects_received() == n);
}

#ifndef TILL_CONTRACT_USB
TEST_CASE("the tcp driver reports an unreachable reader as Unavailable") {
  boost::asio::io_context io;
  std::uint16_t port = 0;
  {
    // Take an ephemeral port and release it, so nothing listens there.
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto reader = make_tcp_reader(io, "127.0.0.1", port, fast_options());
  std::optional<Result<ReaderInfo>> got;
  reader->async_connect({}, 2s, [&](auto r) { got = std::move(r); });
  while (!got && io.run_one() > 0) {
  }
  REQUIRE(got);
  REQUIRE_FALSE(*got);
  CHECK(got->error().kind == ErrorKind::Unavailable);
  CHECK(reader->status().connection == ConnectionState::Disconnected);
}
#endif
