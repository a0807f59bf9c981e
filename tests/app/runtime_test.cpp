// End-to-end through the app's effect runner: the checkout reducer drives the real store, the
// in-process simulated reader (till-reader-sim's device model), the Stripe client and the sync
// engine against the embedded till-stripe-sim on 127.0.0.1. Nothing is faked below the reducer.

#include "till/app/runtime.hpp"

#include <algorithm>
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

using namespace till;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The UI thread's part, without ImGui: an inbox of Actions fed through pos::update, effects
// handed to the runtime (as the kiosk does every frame).
class Register {
 public:
  explicit Register(const fs::path& dir)
      : doc_(*app::load_catalog(app::demo_catalog_path())), random_(7) {
    app::RuntimeConfig config;
    config.data_dir = dir.string();
    config.fee_rule = "30+100bp";
    auto rt = app::Runtime::start(config, [this](pos::Action a) {
      std::lock_guard lock(mutex_);
      inbox_.push_back(std::move(a));
      cv_.notify_all();
    });
    REQUIRE(rt);
    runtime_ = std::move(*rt);
    model_ = pos::initial_model(context());
  }

  // The runtime posts into inbox_ until it has stopped: stop it before the inbox goes.
  ~Register() { runtime_.reset(); }

  pos::Context context() {
    return pos::Context{SystemClock::instance().now(), random_, "reg_test", runtime_->account_id(),
                        pos::Currency::of("usd"), doc_.catalog, pos::RiskConfig::safe_defaults(),
                        doc_.merchant, "2468", "automatic"};
  }

  void dispatch(const pos::Action& action) {
    auto u = pos::update(std::move(model_), action, context());
    model_ = std::move(u.model);
    if (!u.effects.empty()) runtime_->run(std::move(u.effects));
  }

  // Applies actions from the runtime until `done(model)` or the deadline (a generous bound for
  // a loaded CI machine; the happy path takes well under a second).
  bool pump_until(const std::function<bool(const pos::Model&)>& done, std::chrono::seconds deadline = 30s) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!done(model_)) {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_until(lock, end, [&] { return !inbox_.empty(); })) return false;
      auto a = std::move(inbox_.front());
      inbox_.pop_front();
      lock.unlock();
      dispatch(a);
    }
    return true;
  }

  // The id of the demo catalog's n-th product.
  const std::string& product(std::size_t n) const { return doc_.catalog.products().at(n).id; }

  // One product, paid by card (the simulated customer's demo card): waits for the receipt.
  void sell_one(std::size_t n) {
    dispatch(pos::AddProduct{product(n), 1});
    dispatch(pos::Charge{});
    REQUIRE(pump_until([](const pos::Model& m) { return m.screen == pos::Screen::Receipt; }));
  }

  const pos::Model& model() const { return model_; }
  app::Runtime& runtime() { return *runtime_; }

 private:
  app::CatalogDocument doc_;
  SeededRandom random_;
  std::unique_ptr<app::Runtime> runtime_;
  pos::Model model_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<pos::Action> inbox_;
};

// The reader is connected and the database check passed: tenders are taken. (The runtime posts
// StoreCheckStarted before it connects the reader, so a connected reader means the check began.)
bool ready(const pos::Model& m) { return m.reader.connected && m.store_check == pos::StoreCheck::Passed; }

fs::path fresh_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("till_runtime_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

}  // namespace

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
    REQUIRE(reg.runtime().queue_card("4000000000009995"));  // insufficient_funds
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
      return m.notice.text.find("pi_not_ours") != std::string::npos && m.notice.level == pos::NoticeLevel::Error;
    }));
    CHECK(reg.model().storage_error.empty());
    // Neither refund was queued: the sale has its payment only.
    CHECK(reg.runtime().sync_summary({sale.id}).size() == 1);
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
