// The stripe (server-driven) driver against FakeServerDrivenApi.
#include <catch2/catch.hpp>

#include <boost/asio/steady_timer.hpp>

#include "fake_server_driven_api.hpp"

using namespace till;
using namespace till::terminal;
using namespace till::terminal::testing;
using namespace std::chrono_literals;

namespace {

struct StripeHarness {
  explicit StripeHarness(StripeReaderOptions o = {10ms, 100ms}) : api(io), random(3) {
    api.add_reader("tmr_1");
    api.add_intent("pi_1", 1500);
    reader = make_stripe_reader(io, api, random, o);
  }
  boost::asio::io_context io;
  FakeServerDrivenApi api;
  SeededRandom random;
  std::unique_ptr<StripeReader> reader;

  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 5s) {
    auto expired = std::make_shared<bool>(false);
    boost::asio::steady_timer watchdog(io, limit);
    watchdog.async_wait([expired](auto ec) {
      if (!ec) *expired = true;
    });
    while (!pred() && !*expired)
      if (io.run_one() == 0) break;
    watchdog.cancel();
    io.restart();
    return pred();
  }

  void connect() {
    std::optional<Result<ReaderInfo>> got;
    reader->async_connect(ReaderInfo{"tmr_1", "", "", "", "", "stripe"}, 1s, [&](auto r) { got = std::move(r); });
    REQUIRE(run_until([&] { return got.has_value(); }));
    REQUIRE(*got);
  }

  CollectOptions options(std::chrono::milliseconds deadline = 3s) {
    CollectOptions o;
    o.payment_intent_id = "pi_1";
    o.idempotency_key = "sale-1-attempt-1";
    o.deadline = deadline;
    return o;
  }

  std::optional<Result<CollectOutcome>> result;
  int completions = 0;
  CancelHandle start(CollectOptions o) {
    return reader->async_collect(pos::Money(1500, pos::Currency::of("usd")), o, [this](auto r) {
      ++completions;
      result = std::move(r);
    });
  }
  bool action_in_progress() {
    auto& r = api.readers.at("tmr_1");
    return r.action && r.action->status == "in_progress";
  }
};

}  // namespace

TEST_CASE("the stripe driver discovers, registers and connects only to online readers") {
  StripeHarness h;
  h.api.add_reader("tmr_2", "offline");
  std::optional<Result<std::vector<ReaderInfo>>> found;
  h.reader->async_discover(1s, [&](auto r) { found = std::move(r); });
  REQUIRE(h.run_until([&] { return found.has_value(); }));
  REQUIRE(*found);
  CHECK((*found)->size() == 2);
  CHECK((**found)[0].driver == "stripe");

  std::optional<Result<ReaderInfo>> offline;
  h.reader->async_connect(ReaderInfo{"tmr_2", "", "", "", "", "stripe"}, 1s, [&](auto r) { offline = std::move(r); });
  REQUIRE(h.run_until([&] { return offline.has_value(); }));
  REQUIRE_FALSE(*offline);
  CHECK(offline->error().kind == ErrorKind::Unavailable);

  std::optional<Result<ReaderInfo>> registered;
  h.reader->async_register("simulated-wpe", "Front desk", "tml_1", 1s, [&](auto r) { registered = std::move(r); });
  REQUIRE(h.run_until([&] { return registered.has_value(); }));
  REQUIRE(*registered);
  CHECK((*registered)->label == "Front desk");

  h.connect();
  CHECK(h.reader->status().connection == ConnectionState::Connected);
}

TEST_CASE("the stripe driver needs the app's PaymentIntent and idempotency key") {
  StripeHarness h;
  h.connect();
  CollectOptions o = h.options();
  o.idempotency_key.clear();
  h.start(o);
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  REQUIRE_FALSE(*h.result);
  CHECK(h.result->error().kind == ErrorKind::InvalidArgument);
  CHECK(h.api.count("process_payment_intent") == 0);
}

TEST_CASE("an approved smart-reader payment is found by polling and carries the PaymentIntent") {
  StripeHarness h;
  h.connect();
  h.start(h.options());
  REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
  h.api.present_payment_method("tmr_1", "4242424242424242");
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  REQUIRE(*h.result);
  const auto* a = std::get_if<ApprovedToForward>(&**h.result);
  REQUIRE(a != nullptr);
  CHECK(a->payment_intent_id == "pi_1");
  CHECK(a->payment_method.rfind("pm_", 0) == 0);
  CHECK(a->card.last4 == "4242");
  CHECK(h.api.calls.front().rfind("retrieve_reader", 0) == 0);
  CHECK(h.api.count("process_payment_intent tmr_1 pi_1 sale-1-attempt-1") == 1);
}

TEST_CASE("a webhook update decides at once and a duplicate webhook is ignored") {
  StripeHarness h({10s, 100ms});  // polling too slow to matter
  h.connect();
  h.start(h.options());
  REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
  h.api.present_payment_method("tmr_1", "4000000000009995");
  h.reader->on_reader_update(h.api.readers.at("tmr_1"));
  h.reader->on_reader_update(h.api.readers.at("tmr_1"));
  REQUIRE(h.run_until([&] { return h.result.has_value(); }, 2s));
  h.run_until([] { return false; }, 30ms);
  CHECK(h.completions == 1);
  const auto* d = std::get_if<Declined>(&**h.result);
  REQUIRE(d != nullptr);
  CHECK(d->decline_code == "insufficient_funds");
}

TEST_CASE("a busy smart reader refuses the payment and nothing is charged") {
  StripeHarness h;
  h.connect();
  h.api.fail_next["process_payment_intent"] = Error{ErrorKind::FailedPrecondition, "terminal_reader_busy", std::nullopt};
  h.start(h.options());
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  REQUIRE_FALSE(*h.result);
  CHECK(h.result->error().kind == ErrorKind::FailedPrecondition);
}

TEST_CASE("the stripe driver runs one operation at a time") {
  StripeHarness h;
  h.connect();
  h.start(h.options());
  std::optional<Status> display;
  h.reader->async_set_display(Cart{"usd", {{"Tea", 1, 1500}}, 0, 1500}, 1s, [&](Status s) { display = s; });
  REQUIRE(h.run_until([&] { return display.has_value(); }));
  REQUIRE_FALSE(*display);
  CHECK(display->error().kind == ErrorKind::FailedPrecondition);
  REQUIRE(h.reader->cancel());
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  CHECK(std::holds_alternative<Cancelled>(**h.result));
  std::optional<Status> shown;
  h.reader->async_set_display(Cart{"usd", {{"Tea", 1, 1500}}, 0, 1500}, 1s, [&](Status s) { shown = s; });
  REQUIRE(h.run_until([&] { return shown.has_value(); }));
  CHECK(*shown);
  REQUIRE(h.api.displayed.size() == 1);
  CHECK(h.api.displayed[0].lines[0].description == "Tea");
}

TEST_CASE("a deadline the reader cannot honour ends OutcomeUnknown, never Declined") {
  StripeHarness h({10ms, 50ms});
  h.connect();
  h.api.refuse_cancel = true;
  h.start(h.options(40ms));
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  REQUIRE(*h.result);
  CHECK(std::holds_alternative<OutcomeUnknown>(**h.result));
  CHECK(h.api.count("cancel_action") == 1);
}

TEST_CASE("a lost answer to process_payment_intent is followed up, not guessed") {
  SECTION("the action had started and the card approves") {
    StripeHarness h;
    h.connect();
    h.api.lose_answer_next.insert("process_payment_intent");
    h.start(h.options());
    REQUIRE(h.run_until([&] { return h.action_in_progress() && h.api.count("retrieve_reader") >= 2; }));
    h.api.present_payment_method("tmr_1", "4242424242424242");
    REQUIRE(h.run_until([&] { return h.result.has_value(); }));
    REQUIRE(*h.result);
    CHECK(std::holds_alternative<ApprovedToForward>(**h.result));
    CHECK(h.api.processed() == 1);
  }
  SECTION("nothing decides before the deadline: OutcomeUnknown") {
    StripeHarness h({10ms, 50ms});
    h.connect();
    h.api.lose_answer_next.insert("process_payment_intent");
    h.api.refuse_cancel = true;
    h.start(h.options(40ms));
    REQUIRE(h.run_until([&] { return h.result.has_value(); }));
    REQUIRE(*h.result);
    CHECK(std::holds_alternative<OutcomeUnknown>(**h.result));
  }
}

TEST_CASE("a Stripe call that never answers fails at its deadline and the reader is free again") {
  StripeHarness h;
  h.api.hang_next.insert("list_readers");
  std::optional<Result<std::vector<ReaderInfo>>> found;
  h.reader->async_discover(30ms, [&](auto r) { found = std::move(r); });
  REQUIRE(h.run_until([&] { return found.has_value(); }));
  REQUIRE_FALSE(*found);
  CHECK(found->error().kind == ErrorKind::Unavailable);
  found.reset();
  h.reader->async_discover(1s, [&](auto r) { found = std::move(r); });
  REQUIRE(h.run_until([&] { return found.has_value(); }));
  CHECK(*found);
}
