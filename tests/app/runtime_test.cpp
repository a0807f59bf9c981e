// End-to-end through the app's effect runner: the checkout reducer drives the real store, the
// in-process simulated reader (till-reader-sim's device model), the Stripe client and the sync
// engine against the embedded till-stripe-sim on 127.0.0.1, both plugged in by
// app::SimulatedWorld as the kiosk's main plugs them in. Nothing is faked below the reducer.
// The reader is the in-process simulated one, or (RuntimeConfig::reader) the other drivers: a
// simulated smart reader on the embedded till-stripe-sim (`stripe`), usb and tcp with no reader.

#include "till/app/runtime.hpp"

#include "runtime_harness.hpp"

#include <algorithm>
#include <cctype>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <fstream>
#include <sqlite3.h>
#include <thread>
#include <unistd.h>

#include "till/app/catalog.hpp"
#include "till/base/random.hpp"
#include "till/pos/checkout.hpp"
#include "till/store/store.hpp"
#include "till/stripesim/config.hpp"
#include "till/sync/stripe_client.hpp"

using namespace till;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

using till::testing::Register;
using till::testing::fresh_dir;
using till::testing::ready;

TEST_CASE("a card sale goes from the cart to an approved PaymentIntent and a paid sale on disk") {
  const auto dir = fresh_dir("approve");
  {
    Register reg(dir);
    REQUIRE(reg.pump_until(ready));
    const auto doc = app::load_catalog(app::demo_catalog_path());
    REQUIRE(doc);
    const auto& products = doc->catalog.products();
    REQUIRE(products.size() >= 2);
    reg.dispatch(pos::AddProduct{products[0].id, 2});
    reg.dispatch(pos::AddProduct{products[1].id, 1});
    const auto total = reg.model().totals.total;
    REQUIRE(total > 0);
    reg.dispatch(pos::Charge{});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.screen == pos::Screen::Receipt; }));

    const auto& m = reg.model();
    REQUIRE(m.sale);
    CHECK(m.sale->state == pos::SaleState::Paid);
    REQUIRE(m.attempts.size() == 1);
    CHECK(m.attempts[0].state == pos::AttemptState::Approved);
    CHECK(m.attempts[0].payment_intent_id.rfind("pi_", 0) == 0);
    CHECK(m.last_receipt.find("APPROVED") != std::string::npos);
    CHECK(m.last_receipt.find("4242") != std::string::npos);
  }
  // The runtime is gone; what is on disk is what counts.
  CHECK(fs::exists(dir / "till.db"));
  // Printed by the default sinks: the text and the ESC/POS bytes, one file each, named by the sale.
  std::vector<std::string> printed;
  for (const auto& f : fs::directory_iterator(dir / "receipts")) printed.push_back(f.path().extension().string());
  std::sort(printed.begin(), printed.end());
  CHECK(printed == std::vector<std::string>{".escpos", ".txt"});
  // The ESC/POS copy is printed from the receipt itself, styled: bold on (ESC E 1) and the
  // enlarged TOTAL (GS ! n), which a receipt printed from its plain text never has.
  for (const auto& f : fs::directory_iterator(dir / "receipts")) {
    if (f.path().extension() != ".escpos") continue;
    std::ifstream in(f.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(bytes.find("\x1b\x45\x01") != std::string::npos);
    CHECK(bytes.find("\x1d\x21") != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("a declined card is shown as declined with a reason and a new card gets a new key") {
  const auto dir = fresh_dir("decline");
  {
    Register reg(dir);
    REQUIRE(reg.pump_until(ready));
    const auto doc = app::load_catalog(app::demo_catalog_path());
    REQUIRE(doc);
    const auto& products = doc->catalog.products();
    reg.dispatch(pos::AddProduct{products[0].id, 1});
    REQUIRE(reg.world().queue_card("4000000000009995"));  // insufficient_funds
    reg.dispatch(pos::Charge{});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.phase == pos::PaymentPhase::Declined; }));
    REQUIRE(reg.model().attempts.size() == 1);
    CHECK(reg.model().attempts[0].decline_code == "insufficient_funds");
    CHECK(reg.model().notice.text.find("nsufficient") != std::string::npos);

    reg.dispatch(pos::RetryWithAnotherCard{});  // the next simulated customer taps the demo Visa
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.screen == pos::Screen::Receipt; }));
    REQUIRE(reg.model().attempts.size() == 2);
    CHECK(reg.model().attempts[1].state == pos::AttemptState::Approved);
    CHECK(reg.model().attempts[0].idempotency_key != reg.model().attempts[1].idempotency_key);
  }
  fs::remove_all(dir);
}

TEST_CASE("a second runtime on the same data directory is refused while the first holds it") {
  const auto dir = fresh_dir("lock");
  {
    Register reg(dir);
    app::RuntimeConfig config;
    config.data_dir = dir.string();
    auto world = app::SimulatedWorld::plug_into(config);
    auto second = app::Runtime::start(config, [](pos::Action) {});
    REQUIRE_FALSE(second);
    CHECK(second.error().kind == ErrorKind::FailedPrecondition);
    CHECK(second.error().message.find("in use") != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("a partial refund queued from the back office is built by the runtime and confirmed by Stripe") {
  const auto dir = fresh_dir("refund");
  {
    Register reg(dir);
    REQUIRE(reg.pump_until(ready));
    const auto doc = app::load_catalog(app::demo_catalog_path());
    REQUIRE(doc);
    reg.dispatch(pos::AddProduct{doc->catalog.products()[2].id, 2});
    reg.dispatch(pos::Charge{});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.screen == pos::Screen::Receipt; }));
    const pos::PaymentAttempt paid = reg.model().attempts.at(0);
    reg.dispatch(pos::OpenBackOffice{"2468"});
    reg.dispatch(pos::RequestRefund{paid.sale_id, paid.id, paid.payment_intent_id, 100, "usd"});
    std::vector<std::string> lines;
    const auto end = std::chrono::steady_clock::now() + 30s;
    bool refunded = false;
    while (!refunded && std::chrono::steady_clock::now() < end) {
      reg.pump_until([](const pos::Model&) { return false; }, 1s);
      lines = reg.runtime().sync_summary({paid.sale_id});
      for (const auto& l : lines) refunded = refunded || (l.rfind("refund ", 0) == 0 && l.find(" done re_") != std::string::npos);
    }
    INFO(Catch::Detail::stringify(lines));
    CHECK(refunded);
    CHECK(lines.size() == 2);  // the payment and the refund, one keyed operation each
  }
  fs::remove_all(dir);
}

TEST_CASE("an operation intent that disagrees with the attempt on disk is refused with StoreFailed") {
  const auto dir = fresh_dir("mismatch");
  {
    Register reg(dir);
    REQUIRE(reg.pump_until(ready));
    reg.sell_one(0);
    const pos::PaymentAttempt paid = reg.model().attempts.at(0);
    pos::OperationIntent wrong;
    wrong.kind = pos::OperationKind::CreatePaymentIntent;
    wrong.sale_id = paid.sale_id;
    wrong.attempt_id = paid.id;
    wrong.attempt_number = paid.number;
    wrong.account_id = paid.account_id;
    wrong.amount = paid.amount + 1;  // not what the customer agreed to
    wrong.currency = paid.currency;
    wrong.payment_method = paid.payment_method;
    wrong.idempotency_key = paid.idempotency_key;
    reg.runtime().run({pos::EnqueueOperation{wrong}});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return !m.storage_error.empty(); }));
    CHECK(reg.model().storage_error.find("disagrees with the store: amount") != std::string::npos);
    CHECK(reg.runtime().sync_summary({paid.sale_id}).size() == 1);  // nothing more was queued
  }
  fs::remove_all(dir);
}

TEST_CASE("a past sale is found by its receipt number for a refund and its receipt is queued by email") {
  const auto dir = fresh_dir("past");
  {
    Register reg(dir);
    REQUIRE(reg.pump_until(ready));
    reg.sell_one(1);
    const pos::Sale sale = *reg.model().sale;
    reg.dispatch(pos::EmailReceipt{"ada@example.com"});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.notice.text.find("email") != std::string::npos &&
                                                             m.notice.text != "Queuing the receipt for email"; }));
    CHECK(reg.model().notice.text == "Receipt queued for email");
    reg.dispatch(pos::NewSale{});
    reg.dispatch(pos::OpenBackOffice{"2468"});
    reg.dispatch(pos::FindSaleForRefund{sale.id.substr(0, 8)});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.back_office.refund_sale.has_value(); }));
    const pos::PastSale& past = *reg.model().back_office.refund_sale;
    CHECK(past.sale.id == sale.id);
    REQUIRE(past.payments.size() == 1);
    CHECK(past.payments[0].refundable == sale.total);
    reg.dispatch(pos::RequestRefund{sale.id, past.payments[0].attempt_id, past.payments[0].payment_intent_id,
                                    sale.total + 1, "usd"});
    CHECK(reg.model().notice.text.find("can still be refunded") != std::string::npos);  // refused by the reducer
    reg.dispatch(pos::RequestRefund{sale.id, past.payments[0].attempt_id, past.payments[0].payment_intent_id, 50, "usd"});
    REQUIRE(reg.pump_until([](const pos::Model& m) {
      return m.back_office.refund_sale && !m.back_office.refund_lookup_running &&
             m.back_office.refund_sale->payments[0].refundable < m.back_office.refund_sale->payments[0].captured;
    }));
    CHECK(reg.model().back_office.refund_sale->payments[0].refundable == sale.total - 50);
    reg.dispatch(pos::FindSaleForRefund{"zzzzzzzz"});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return !m.back_office.refund_lookup_error.empty(); }));
  }
  fs::remove_all(dir);
}

TEST_CASE("a refund the store refuses is reported as refused, not as a storage error, and nothing is queued") {
  const auto dir = fresh_dir("refund_refused");
  {
    Register reg(dir);
    REQUIRE(reg.pump_until(ready));
    reg.sell_one(0);
    const pos::Sale sale = *reg.model().sale;
    const pos::PaymentAttempt paid = reg.model().attempts.at(0);
    reg.dispatch(pos::NewSale{});
    reg.dispatch(pos::OpenBackOffice{"2468"});
    // Typed in by hand (no past sale on screen, so the reducer cannot check the limit): more than
    // the payment. The store refuses it when it is queued.
    reg.dispatch(pos::RequestRefund{sale.id, paid.id, paid.payment_intent_id, sale.total + 1, "usd"});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.notice.text.rfind("Refund not queued: ", 0) == 0; }));
    CHECK(reg.model().notice.level == pos::NoticeLevel::Error);
    CHECK(reg.model().storage_error.empty());
    // A PaymentIntent this register never took.
    reg.dispatch(pos::RequestRefund{"", "", "pi_not_ours", 100, "usd"});
    REQUIRE(reg.pump_until([](const pos::Model& m) {
      return m.notice.details.find("pi_not_ours") != std::string::npos && m.notice.level == pos::NoticeLevel::Error;
    }));
    CHECK(reg.model().storage_error.empty());
    // Neither refund was queued: the sale has its payment only.
    CHECK(reg.runtime().sync_summary({sale.id}).size() == 1);
  }
  fs::remove_all(dir);
}

// ---- other readers -------------------------------------------------------------------------

namespace {

// Stripe's side of a runtime on the embedded simulator, seen through a client of the test's own
// (not the runtime's): what the simulator holds for a sale.
class StripeView {
 public:
  explicit StripeView(app::Runtime& runtime) : account_(runtime.account_id()) {
    sync::StripeConfig sc;
    sc.http.base_url = runtime.stripe_base_url();
    sc.api_key = Secret(stripesim::SimConfig{}.api_keys.front());
    sc.app.version = "0.0.0-test";
    auto c = sync::StripeClient::create(io_, std::move(sc));
    REQUIRE(c);
    client_ = std::move(*c);
  }
  std::vector<sync::PaymentIntent> payment_intents(const std::string& sale_id) {
    auto page = client_->wait(client_->async_search_payment_intents(sync::search_query_metadata("sale_id", sale_id),
                                                                    sync::RequestOptions(account_)));
    REQUIRE(page);
    return page->data;
  }
  std::vector<sync::Reader> readers() {
    auto page = client_->wait(client_->async_list_readers(sync::ListParams(100), sync::RequestOptions(account_)));
    REQUIRE(page);
    return page->data;
  }
  bool reader_waits_for_card() {
    for (const auto& r : readers()) {
      if (r.action && r.action->status == "in_progress") return true;
    }
    return false;
  }

 private:
  boost::asio::io_context io_;
  std::string account_;
  std::unique_ptr<sync::StripeClient> client_;
};

std::function<void(app::RuntimeConfig&)> smart_reader(std::string capture = "automatic") {
  return [capture](app::RuntimeConfig& c) {
    c.reader = "stripe";
    c.capture_method = capture;
  };
}

app::SimulatedWorldOptions nobody_presents() {
  app::SimulatedWorldOptions o;
  o.customer_presents_demo_card = false;
  return o;
}

// Sells the first product of the demo catalog by card.
std::int64_t charge_one(Register& reg) {
  const auto doc = app::load_catalog(app::demo_catalog_path());
  REQUIRE(doc);
  reg.dispatch(pos::AddProduct{doc->catalog.products()[0].id, 1});
  const std::int64_t total = reg.model().totals.total;
  reg.dispatch(pos::Charge{});
  return total;
}

bool receipt_shown(const pos::Model& m) { return m.screen == pos::Screen::Receipt; }

}  // namespace

TEST_CASE("with reader stripe the embedded simulator gets a SIMULATED smart reader and a sale is approved with one PaymentIntent") {
  const auto dir = fresh_dir("smart_approve");
  {
    Register reg(dir, smart_reader());
    REQUIRE(reg.pump_until(ready));
    CHECK(reg.runtime().reader_spec() == "stripe");
    CHECK(reg.world().simulated_customer());
    CHECK(reg.model().reader.detail == "stripe (SIMULATED)");
    CHECK(reg.model().reader.label == "Counter (SIMULATED)");
    StripeView stripe(reg.runtime());
    REQUIRE(stripe.readers().size() == 1);
    CHECK(stripe.readers()[0].device_type == "simulated_wisepos_e");

    const std::int64_t total = charge_one(reg);
    REQUIRE(reg.pump_until(receipt_shown));
    const auto& m = reg.model();
    REQUIRE(m.sale);
    CHECK(m.sale->state == pos::SaleState::Paid);
    REQUIRE(m.attempts.size() == 1);
    CHECK(m.attempts[0].state == pos::AttemptState::Approved);
    CHECK(m.attempts[0].card.last4 == "4242");
    CHECK(m.last_receipt.find("APPROVED") != std::string::npos);

    // Exactly one PaymentIntent for the sale, the one the attempt names, captured automatically.
    const auto pis = stripe.payment_intents(m.sale->id);
    REQUIRE(pis.size() == 1);
    CHECK(pis[0].id == m.attempts[0].payment_intent_id);
    CHECK(pis[0].status == sync::PaymentIntentStatus::Succeeded);
    CHECK(pis[0].amount == total);
    CHECK(pis[0].amount_received == total);
    // One outbox row: the chain's keyed safety net for the attempt. The reducer queued no second
    // create for the approved attempt (a card is never charged twice).
    const auto ops = reg.runtime().sync_summary({m.sale->id});
    INFO(Catch::Detail::stringify(ops));
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].rfind("create_payment_intent", 0) == 0);
    CHECK(ops[0].find(pis[0].id) != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("a damaged database is found by the check after start-up: no sale is taken and nothing is sent") {
  const auto dir = fresh_dir("damaged");
  std::string sale_id;
  {
    Register reg(dir);
    REQUIRE(reg.pump_until(ready));
    reg.sell_one(0);
    sale_id = reg.model().sale->id;
  }
  // Damage the first page of the sale_lines table, as a failing disk would.
  long page_size = 0;
  long root = 0;
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2((dir / "till.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    auto scalar = [db](const char* sql) {
      sqlite3_stmt* st = nullptr;
      REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
      REQUIRE(sqlite3_step(st) == SQLITE_ROW);
      const long v = static_cast<long>(sqlite3_column_int64(st, 0));
      sqlite3_finalize(st);
      return v;
    };
    REQUIRE(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr) == SQLITE_OK);
    page_size = scalar("PRAGMA page_size");
    root = scalar("SELECT rootpage FROM sqlite_schema WHERE name = 'sale_lines'");
    sqlite3_close(db);
  }
  {
    std::fstream f(dir / "till.db", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((root - 1) * page_size);
    const std::string garbage(64, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  {
    Register reg(dir);  // opens: the check is not on the start-up path
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.store_check == pos::StoreCheck::Failed; }));
    CHECK_THAT(reg.model().store_check_error, Catch::Contains("damaged"));
    CHECK_FALSE(reg.model().storage_error.empty());
    reg.dispatch(pos::AddProduct{reg.product(0), 1});
    reg.dispatch(pos::Charge{});
    CHECK(reg.model().notice.text == "The register's database is damaged: no sale can be taken, call support");
    CHECK_FALSE(reg.model().sale);
  }
  fs::remove_all(dir);
}

TEST_CASE("a smart-reader sale with manual capture is authorised at the reader and captured once by the engine") {
  const auto dir = fresh_dir("smart_manual");
  {
    Register reg(dir, smart_reader("manual"));
    REQUIRE(reg.pump_until(ready));
    const std::int64_t total = charge_one(reg);
    REQUIRE(reg.pump_until(receipt_shown));
    const std::string sale_id = reg.model().sale->id;
    StripeView stripe(reg.runtime());
    const auto end = std::chrono::steady_clock::now() + 30s;
    std::vector<sync::PaymentIntent> pis;
    do {
      reg.pump_until([](const pos::Model&) { return false; }, 1s);
      pis = stripe.payment_intents(sale_id);
    } while (!(pis.size() == 1 && pis[0].status == sync::PaymentIntentStatus::Succeeded) &&
             std::chrono::steady_clock::now() < end);
    REQUIRE(pis.size() == 1);
    CHECK(pis[0].capture_method == "manual");
    CHECK(pis[0].status == sync::PaymentIntentStatus::Succeeded);
    CHECK(pis[0].amount_received == total);
    const auto ops = reg.runtime().sync_summary({sale_id});
    INFO(Catch::Detail::stringify(ops));
    CHECK(std::count_if(ops.begin(), ops.end(), [](const std::string& l) { return l.rfind("capture ", 0) == 0; }) == 1);
    CHECK(std::count_if(ops.begin(), ops.end(), [](const std::string& l) { return l.rfind("create_payment_intent", 0) == 0; }) == 1);
  }
  fs::remove_all(dir);
}

TEST_CASE("a declined card on the smart reader is PaymentDeclined with Stripe's decline code and charges nothing") {
  const auto dir = fresh_dir("smart_decline");
  {
    Register reg(dir, smart_reader());
    REQUIRE(reg.pump_until(ready));
    REQUIRE(reg.world().queue_card("4000000000009995"));  // insufficient_funds
    charge_one(reg);
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.phase == pos::PaymentPhase::Declined; }));
    REQUIRE(reg.model().attempts.size() == 1);
    CHECK(reg.model().attempts[0].state == pos::AttemptState::Declined);
    CHECK(reg.model().attempts[0].decline_code == "insufficient_funds");
    CHECK(reg.model().notice.text.find("nsufficient") != std::string::npos);
    StripeView stripe(reg.runtime());
    const std::string sale_id = reg.model().sale->id;
    auto pis = stripe.payment_intents(sale_id);
    REQUIRE(pis.size() == 1);
    CHECK(pis[0].amount_received == 0);
    CHECK(pis[0].status != sync::PaymentIntentStatus::Succeeded);

    reg.dispatch(pos::RetryWithAnotherCard{});  // the next simulated customer taps the demo Visa
    REQUIRE(reg.pump_until(receipt_shown));
    REQUIRE(reg.model().attempts.size() == 2);
    CHECK(reg.model().attempts[1].state == pos::AttemptState::Approved);
    pis = stripe.payment_intents(sale_id);
    CHECK(pis.size() == 2);  // one per attempt, each keyed by its own attempt
  }
  fs::remove_all(dir);
}

TEST_CASE("cancel while the smart reader waits for a card ends the payment canceled and charges nothing") {
  const auto dir = fresh_dir("smart_cancel");
  {
    Register reg(dir, smart_reader(), nobody_presents());
    REQUIRE(reg.pump_until(ready));
    charge_one(reg);
    StripeView stripe(reg.runtime());
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (!stripe.reader_waits_for_card() && std::chrono::steady_clock::now() < end) {
      reg.pump_until([](const pos::Model&) { return false; }, 1s);
    }
    REQUIRE(stripe.reader_waits_for_card());
    REQUIRE(reg.model().phase == pos::PaymentPhase::Collecting);
    reg.dispatch(pos::CancelPayment{});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.phase != pos::PaymentPhase::Canceling &&
                                                            m.phase != pos::PaymentPhase::Collecting; }));
    REQUIRE(reg.model().attempts.size() == 1);
    CHECK(reg.model().attempts[0].state == pos::AttemptState::Canceled);
    CHECK(reg.model().notice.text == "Payment canceled: nothing was charged");
    const auto pis = stripe.payment_intents(reg.model().sale->id);
    REQUIRE(pis.size() == 1);
    CHECK(pis[0].amount_received == 0);
    CHECK_FALSE(stripe.reader_waits_for_card());
  }
  fs::remove_all(dir);
}

TEST_CASE("while the register is offline a smart reader refuses the card at once and says why") {
  const auto dir = fresh_dir("smart_offline");
  {
    Register reg(dir, smart_reader());
    REQUIRE(reg.pump_until(ready));
    REQUIRE(reg.world().simulate_outage(true));
    REQUIRE(reg.pump_until([](const pos::Model& m) { return !m.offline.online; }));
    charge_one(reg);
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.phase == pos::PaymentPhase::Failed; }));
    CHECK(reg.model().notice.details.find("needs Stripe and the register is offline") != std::string::npos);
    CHECK(reg.model().attempts.at(0).failure_message.find("needs Stripe") != std::string::npos);  // the view shows it
    CHECK(reg.model().attempts.at(0).state == pos::AttemptState::Canceled);
    CHECK(reg.model().offline.stored.count == 0);  // nothing stored: a smart reader cannot
    REQUIRE(reg.world().simulate_outage(false));
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.offline.online; }));
    StripeView stripe(reg.runtime());
    CHECK(stripe.payment_intents(reg.model().sale->id).empty());  // nothing reached Stripe
  }
  fs::remove_all(dir);
}

TEST_CASE("a reader that is not there (tcp, usb) reports No reader cleanly, has no SIMULATED customer and takes no card") {
  // A TCP reader where nobody listens (port 1 on loopback), and a USB id no device has (on a
  // machine with USB this still finds nothing; it builds the usb driver all the same).
  for (const std::string spec : {"tcp:127.0.0.1:1", "usb:dead:beef"}) {
    INFO(spec);
    const auto dir = fresh_dir("no_reader");
    {
      Register reg(dir, [&spec](app::RuntimeConfig& c) { c.reader = spec; });
      CHECK(reg.runtime().reader_spec() == spec);
      CHECK_FALSE(reg.world().simulated_customer());
      CHECK(reg.world().simulates_stripe());  // Stripe is still the embedded simulator
      for (const Status& s : {reg.world().queue_card("visa"), reg.world().present_card("visa"),
                              reg.world().simulate_outage(true), reg.world().simulate_reader_unplugged(true)}) {
        REQUIRE_FALSE(s);
        CHECK(s.error().kind == ErrorKind::FailedPrecondition);
      }
      // The database check has passed too, so the refusal below can only be the reader's.
      REQUIRE(reg.pump_until([](const pos::Model& m) {
        return m.reader.label == "No reader" && m.store_check == pos::StoreCheck::Passed;
      }));
      CHECK_FALSE(reg.model().reader.connected);
      CHECK_FALSE(reg.model().reader.detail.empty());
      reg.dispatch(pos::AddProduct{reg.product(0), 1});
      reg.dispatch(pos::Charge{});
      CHECK(reg.model().notice.text == "No card reader connected");
      CHECK(reg.model().attempts.empty());
    }
    fs::remove_all(dir);
  }
}

TEST_CASE("a bad reader setting stops the runtime from starting with InvalidArgument") {
  const auto dir = fresh_dir("bad_reader");
  app::RuntimeConfig config;
  config.data_dir = dir.string();
  config.reader = "bluetooth";
  auto rt = app::Runtime::start(config, [](pos::Action) {});
  REQUIRE_FALSE(rt);
  CHECK(rt.error().kind == ErrorKind::InvalidArgument);
  CHECK(rt.error().message.find("bluetooth") != std::string::npos);
  fs::remove_all(dir);
}

// ---- the register's identity ---------------------------------------------------------------

TEST_CASE("the register's id is generated once, kept across restarts and carried in every PaymentIntent's metadata") {
  const auto dir = fresh_dir("identity");
  std::string id;
  std::string first_pi;
  {
    Register reg(dir);
    REQUIRE(reg.pump_until(ready));
    id = reg.runtime().register_id();
    CHECK(id.size() == 20);
    CHECK(id.rfind("reg_", 0) == 0);
    CHECK(reg.runtime().register_name() == "Register 1");
    reg.sell_one(0);
    CHECK(reg.model().sale->register_id == id);
    CHECK(reg.model().last_receipt.find("Register " + id) != std::string::npos);
    StripeView stripe(reg.runtime());
    const auto pis = stripe.payment_intents(reg.model().sale->id);
    REQUIRE(pis.size() == 1);
    REQUIRE(pis[0].metadata_value("register_id") != nullptr);
    CHECK(*pis[0].metadata_value("register_id") == id);
    first_pi = pis[0].id;
  }
  {
    // A restart (a fresh embedded simulator too): the same register, renamed by configuration.
    Register reg(dir, [](app::RuntimeConfig& c) { c.register_name = "Terrace"; });
    REQUIRE(reg.pump_until(ready));
    CHECK(reg.runtime().register_id() == id);
    CHECK(reg.runtime().register_name() == "Terrace");
    reg.sell_one(1);
    StripeView stripe(reg.runtime());
    const auto pis = stripe.payment_intents(reg.model().sale->id);
    REQUIRE(pis.size() == 1);
    CHECK(*pis[0].metadata_value("register_id") == id);
    // The embedded till-stripe-sim starts from a fresh seed: an earlier run's ids (on its
    // receipts) are not handed out again.
    CHECK(pis[0].id != first_pi);
  }
  {
    // A configuration naming another id is refused: the database belongs to this register.
    app::RuntimeConfig config;
    config.data_dir = dir.string();
    config.register_id = "reg_somebody_else";
    auto world = app::SimulatedWorld::plug_into(config);
    auto rt = app::Runtime::start(config, [](pos::Action) {});
    REQUIRE_FALSE(rt);
    CHECK(rt.error().kind == ErrorKind::FailedPrecondition);
    CHECK(rt.error().message.find(id) != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("a sale the kiosk made for another register is refused with a storage error and not written") {
  const auto dir = fresh_dir("foreign_sale");
  {
    Register reg(dir);
    REQUIRE(reg.pump_until(ready));
    pos::Sale sale;
    sale.id = "sale-foreign";
    sale.register_id = "reg_1";  // the literal every register used to write
    sale.account_id = reg.runtime().account_id();
    sale.currency = "usd";
    reg.runtime().run({pos::PersistSale{sale}});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return !m.storage_error.empty(); }));
    CHECK(reg.model().storage_error.find("is for register 'reg_1'") != std::string::npos);
    CHECK(reg.runtime().sync_summary({"sale-foreign"}).empty());
  }
  fs::remove_all(dir);
}

TEST_CASE("a reader that disconnects after authorizing shows outcome unknown and never a decline, then not charged") {
  const auto dir = fresh_dir("disconnect_after_auth");
  {
    Register reg(dir);
    REQUIRE(reg.pump_until(ready));
    // An insufficient-funds card: the reader decides "declined", then its cable is pulled before
    // the answer leaves it (hwsim Fault::DisconnectAfterAuthorization). The register cannot know.
    REQUIRE(reg.world().queue_card("4000000000009995+disconnect_after_authorization"));
    charge_one(reg);
    std::vector<pos::Notice> seen;
    auto watch = [&](const pos::Model& m) {
      if (seen.empty() || !(seen.back() == m.notice)) seen.push_back(m.notice);
    };
    REQUIRE(reg.pump_until([&](const pos::Model& m) {
      watch(m);
      return m.phase == pos::PaymentPhase::Failed;
    }));
    // The reader's reconnection and the driver's own late report come after; neither changes it.
    REQUIRE(reg.pump_until([&](const pos::Model& m) {
      watch(m);
      return m.reader.connected;
    }));
    const bool unknown_shown = std::any_of(seen.begin(), seen.end(), [](const pos::Notice& n) {
      return n.text.find("Outcome unknown") != std::string::npos && n.text.find("Do not retry the card") != std::string::npos;
    });
    CHECK(unknown_shown);
    for (const auto& n : seen) {
      INFO(n.text);
      std::string lower = n.text;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      CHECK(lower.find("declin") == std::string::npos);
    }
    const auto& m = reg.model();
    CHECK(m.phase == pos::PaymentPhase::Failed);
    CHECK_THAT(m.notice.text, Catch::StartsWith("Not charged"));
    REQUIRE(m.attempts.size() == 1);
    CHECK(m.attempts[0].state == pos::AttemptState::Canceled);
    CHECK(m.attempts[0].decline_code.empty());
    CHECK(m.last_receipt.find("DECLINED") == std::string::npos);  // no declined receipt either
    StripeView stripe(reg.runtime());
    CHECK(stripe.payment_intents(m.sale->id).empty());  // nothing reached Stripe
  }
  fs::remove_all(dir);
}
