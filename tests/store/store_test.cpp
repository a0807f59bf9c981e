#include "till/store/store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "store_fixtures.hpp"

using namespace till;
using namespace till::store;
using namespace till::store::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char* kOtherKeyHex = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

DataKey test_key(const char* hex = kKeyHex) {
  auto k = DataKey::from_hex(hex);
  REQUIRE(k);
  return *k;
}

Store open_store(const std::string& path, const Clock& clock, OpenOptions options = {}) {
  auto s = Store::open(path, clock, std::move(options));
  if (!s) FAIL(s.error().describe());
  return std::move(*s);
}

std::string read_all_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("a sale round-trips with its lines, taxes and totals") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  const auto sale = make_sale("sale-1", 5, 3, clock.now());
  REQUIRE(store.persist_sale(sale));
  auto back = store.get_sale("sale-1");
  REQUIRE(back);
  CHECK(*back == sale);
  CHECK(store.get_sale("nope").error().kind == ErrorKind::NotFound);
}

TEST_CASE("a sale without timestamps gets the clock's time") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  auto back = store.get_sale("sale-1");
  REQUIRE(back);
  CHECK(back->created_at == clock.now());
  CHECK(back->updated_at == clock.now());
}

TEST_CASE("a non-final sale can be rewritten with new lines, a final sale never") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  auto sale = make_sale("sale-1", 5, 1, clock.now());
  REQUIRE(store.persist_sale(sale));

  auto edited = make_sale("sale-1", 2, 9, clock.now());
  edited.state = pos::SaleState::Open;  // cashier went back to the cart
  REQUIRE(store.persist_sale(edited));
  auto back = store.get_sale("sale-1");
  REQUIRE(back);
  CHECK(back->lines == edited.lines);
  CHECK(back->total == edited.total);
  CHECK(back->state == pos::SaleState::Open);

  REQUIRE(store.update_sale_state("sale-1", pos::SaleState::Tendering));
  REQUIRE(store.update_sale_state("sale-1", pos::SaleState::Paid));
  auto again = store.persist_sale(sale);
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::FailedPrecondition);
  CHECK(store.get_sale("sale-1")->lines == edited.lines);
}

TEST_CASE("a payment attempt round-trips with its card details and key") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock, {.data_key = test_key()});
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  auto a = make_attempt("att-1", "sale-1");
  a.created_at = clock.now();
  a.updated_at = clock.now();
  REQUIRE(store.create_attempt(a));
  CHECK(*store.get_attempt("att-1") == a);

  clock.advance(5s);
  pos::CardDetails card{"visa",   "4242",       "12/28", "contactless_emv", "A0000000031010", "VISA CREDIT",
                        "123456", "0000000000", "none"};
  AttemptUpdate u{.attempt_id = "att-1",
                  .state = pos::AttemptState::Submitting,
                  .payment_method = "pm_card_present_123",
                  .card = card,
                  .payment_intent_id = "pi_123"};
  REQUIRE(store.update_attempt(u));
  auto back = store.get_attempt("att-1");
  REQUIRE(back);
  CHECK(back->state == pos::AttemptState::Submitting);
  CHECK(back->card == card);
  CHECK(back->payment_method == "pm_card_present_123");
  CHECK(back->payment_intent_id == "pi_123");
  CHECK(back->account_id == a.account_id);
  CHECK(back->idempotency_key == a.idempotency_key);
  CHECK(back->updated_at == clock.now());
  CHECK(store.attempt_by_idempotency_key("key-att-1")->id == "att-1");
  auto by_pi = store.attempt_by_payment_intent("pi_123");
  REQUIRE(by_pi);
  REQUIRE(by_pi->has_value());
  CHECK((*by_pi)->id == "att-1");
  CHECK_FALSE(store.attempt_by_payment_intent("pi_other")->has_value());
  auto list = store.attempts_for_sale("sale-1");
  REQUIRE(list);
  REQUIRE(list->size() == 1);
  CHECK(list->front() == *back);
}

TEST_CASE("an outbox operation round-trips with its exact body and key") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock, {.data_key = test_key()});
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  REQUIRE(store.create_attempt(make_attempt("att-1", "sale-1")));
  auto op = make_op("key-att-1", "sale-1", "att-1");
  op.body = "amount=1234&currency=usd&metadata%5Bsale_id%5D=sale-1&description=caf%C3%A9";
  auto id = store.enqueue_operation(op);
  REQUIRE(id);
  auto back = store.get_operation(*id);
  REQUIRE(back);
  op.id = *id;
  op.created_at = clock.now();
  op.updated_at = clock.now();
  op.next_attempt_at = clock.now();
  CHECK(*back == op);
  auto by_sale = store.operations_for_sale("sale-1");
  REQUIRE(by_sale);
  REQUIRE(by_sale->size() == 1);
  CHECK(by_sale->front() == op);
}

TEST_CASE("several writes in one transaction commit together or not at all") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.persist_sale(make_sale("sale-1")));

  SECTION("the callback's error rolls back the writes before it") {
    auto r = store.write([&](WriteTx& tx) -> Status {
      REQUIRE(tx.create_attempt(make_attempt("att-1", "sale-1")));
      REQUIRE(tx.enqueue_operation(make_op("key-att-1", "sale-1", "att-1")));
      return fail(ErrorKind::Cancelled, "changed my mind");
    });
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::Cancelled);
  }
  SECTION("a SQLite error in the middle rolls back the writes before it") {
    auto r = store.write([&](WriteTx& tx) -> Status {
      REQUIRE(tx.create_attempt(make_attempt("att-1", "sale-1")));
      // Same (sale, number) as att-1: the UNIQUE constraint fails inside the transaction.
      auto dup = make_attempt("att-2", "sale-1", 1);
      return tx.create_attempt(dup);
    });
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  }
  CHECK(store.get_attempt("att-1").error().kind == ErrorKind::NotFound);
  CHECK(store.operations_for_sale("sale-1")->empty());

  // And the good path commits both.
  REQUIRE(store.write([&](WriteTx& tx) -> Status {
    if (auto r = tx.create_attempt(make_attempt("att-1", "sale-1")); !r) return r;
    auto id = tx.enqueue_operation(make_op("key-att-1", "sale-1", "att-1"));
    if (!id) return fail(id.error());
    return ok();
  }));
  CHECK(store.get_attempt("att-1"));
  CHECK(store.operations_for_sale("sale-1")->size() == 1);
}

TEST_CASE("an exception thrown inside a write rolls it back and comes out as Internal") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  auto r = store.write([&](WriteTx& tx) -> Status {
    REQUIRE(tx.persist_sale(make_sale("sale-1")));
    throw std::runtime_error("bug in a caller");
  });
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::Internal);
  CHECK(store.get_sale("sale-1").error().kind == ErrorKind::NotFound);
  REQUIRE(store.persist_sale(make_sale("sale-1")));  // and the store still works
}

TEST_CASE("a write started inside a write is refused") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  Status inner;
  auto outer = store.write([&](WriteTx& tx) -> Status {
    inner = store.persist_sale(make_sale("sale-2"));
    return tx.persist_sale(make_sale("sale-1"));
  });
  REQUIRE(outer);
  REQUIRE_FALSE(inner);
  CHECK(inner.error().kind == ErrorKind::FailedPrecondition);
  CHECK(store.get_sale("sale-1"));
  CHECK(store.get_sale("sale-2").error().kind == ErrorKind::NotFound);
}

TEST_CASE("illegal state transitions are rejected and leave the record unchanged") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  REQUIRE(store.update_sale_state("sale-1", pos::SaleState::Paid));
  auto s = store.update_sale_state("sale-1", pos::SaleState::Open);
  REQUIRE_FALSE(s);
  CHECK(s.error().kind == ErrorKind::FailedPrecondition);
  CHECK(store.get_sale("sale-1")->state == pos::SaleState::Paid);

  REQUIRE(store.create_attempt(make_attempt("att-1", "sale-1")));
  REQUIRE(store.update_attempt({.attempt_id = "att-1", .state = pos::AttemptState::Declined}));
  // (declined -> approved is legal now: Stripe's answer wins, pos/attempt.hpp.)
  auto a = store.update_attempt({.attempt_id = "att-1", .state = pos::AttemptState::Submitting});
  REQUIRE_FALSE(a);
  CHECK(a.error().kind == ErrorKind::FailedPrecondition);
  CHECK(store.get_attempt("att-1")->state == pos::AttemptState::Declined);

  auto id = store.enqueue_operation(make_op("op-key", "sale-1"));
  REQUIRE(id);
  // pending -> done skips in_flight: illegal.
  auto o = store.complete_operation(*id, {"req_1", "pi_1"});
  REQUIRE_FALSE(o);
  CHECK(o.error().kind == ErrorKind::FailedPrecondition);
  CHECK(store.get_operation(*id)->state == pos::OutboxState::Pending);
  auto f = store.fail_operation(*id, {"boom", "", clock.now()});
  REQUIRE_FALSE(f);
  CHECK(store.get_operation(*id)->state == pos::OutboxState::Pending);
}

TEST_CASE("an idempotency key is never reused by a second attempt or operation") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  REQUIRE(store.create_attempt(make_attempt("att-1", "sale-1", 1)));
  auto second = make_attempt("att-2", "sale-1", 2);
  second.idempotency_key = "key-att-1";
  auto r = store.create_attempt(second);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  CHECK(r.error().message.find("att-1") != std::string::npos);

  REQUIRE(store.enqueue_operation(make_op("op-key-1", "sale-1")));
  auto dup = store.enqueue_operation(make_op("op-key-1", "sale-1"));
  REQUIRE_FALSE(dup);
  CHECK(dup.error().kind == ErrorKind::FailedPrecondition);
  CHECK(store.operations_for_sale("sale-1")->size() == 1);
}

TEST_CASE("a card attempt is refused without its key or connected account") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  auto no_key = make_attempt("att-1", "sale-1");
  no_key.idempotency_key.clear();
  CHECK(store.create_attempt(no_key).error().kind == ErrorKind::InvalidArgument);
  auto no_account = make_attempt("att-1", "sale-1");
  no_account.account_id.clear();
  CHECK(store.create_attempt(no_account).error().kind == ErrorKind::InvalidArgument);
  auto no_sale = make_attempt("att-1", "sale-404");
  CHECK(store.create_attempt(no_sale).error().kind == ErrorKind::NotFound);
  // Cash needs neither; two cash tenders may both have no key.
  auto cash1 = make_attempt("cash-1", "sale-1", 1);
  cash1.tender = pos::TenderKind::Cash;
  cash1.idempotency_key.clear();
  cash1.account_id.clear();
  auto cash2 = cash1;
  cash2.id = "cash-2";
  cash2.number = 2;
  REQUIRE(store.create_attempt(cash1));
  REQUIRE(store.create_attempt(cash2));
  CHECK(store.attempts_for_sale("sale-1")->size() == 2);
}

TEST_CASE("an operation bound to another connected account than its attempt is refused") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  REQUIRE(store.create_attempt(make_attempt("att-1", "sale-1")));
  auto op = make_op("key-att-1", "sale-1", "att-1");
  op.account_id = "acct_SomeoneElse";
  auto r = store.enqueue_operation(op);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  CHECK(store.operations_for_sale("sale-1")->empty());
}

TEST_CASE("due operations are claimed oldest first, backed off on failure and claimed again when due") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  const Timestamp t0 = clock.now();
  auto later = make_op("k-later", "sale-1");
  later.next_attempt_at = t0 + 10s;
  auto first = make_op("k-first", "sale-1");
  auto second = make_op("k-second", "sale-1");
  second.next_attempt_at = t0 + 1ms;
  auto id_later = *store.enqueue_operation(later);
  auto id_first = *store.enqueue_operation(first);
  auto id_second = *store.enqueue_operation(second);

  auto none = store.claim_due_operations(t0, 0);
  REQUIRE(none);
  CHECK(none->empty());

  auto claimed = store.claim_due_operations(t0 + 1ms, 10);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 2);
  CHECK((*claimed)[0].id == id_first);
  CHECK((*claimed)[1].id == id_second);
  for (const auto& op : *claimed) {
    CHECK(op.state == pos::OutboxState::InFlight);
    CHECK(op.attempts == 1);
    CHECK(op.first_sent_at == t0 + 1ms);
  }
  // Claimed operations are not handed out twice.
  CHECK(store.claim_due_operations(t0 + 1ms, 10)->empty());

  REQUIRE(store.fail_operation(id_first, {"unavailable: 503", "req_503", t0 + 30s}));
  REQUIRE(store.complete_operation(id_second, {"req_ok", "pi_2"}));
  auto done = store.get_operation(id_second);
  CHECK(done->state == pos::OutboxState::Done);
  CHECK(done->stripe_object_id == "pi_2");
  CHECK(done->last_request_id == "req_ok");

  // At +10 s only `later` is due; the failed one waits for its backoff.
  auto at10 = store.claim_due_operations(t0 + 10s, 10);
  REQUIRE(at10->size() == 1);
  CHECK(at10->front().id == id_later);

  auto at30 = store.claim_due_operations(t0 + 30s, 10);
  REQUIRE(at30->size() == 1);
  CHECK(at30->front().id == id_first);
  CHECK(at30->front().attempts == 2);
  CHECK(at30->front().first_sent_at == t0 + 1ms);  // the key-retention clock starts at the first send
  CHECK(at30->front().last_error == "unavailable: 503");
  CHECK(at30->front().idempotency_key == "k-first");
  CHECK(at30->front().body == first.body);
}

TEST_CASE("one dead operation does not block the others and a person can retry it with the same key") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  auto bad = *store.enqueue_operation(make_op("k-bad", "sale-1"));
  auto good = *store.enqueue_operation(make_op("k-good", "sale-1"));
  auto claimed = store.claim_due_operations(clock.now(), 1);
  REQUIRE(claimed->size() == 1);
  REQUIRE(claimed->front().id == bad);
  REQUIRE(store.dead_operation(bad, {"invalid_request_error: amount too small", "req_400", {}}));
  auto next = store.claim_due_operations(clock.now(), 10);
  REQUIRE(next->size() == 1);
  CHECK(next->front().id == good);

  auto status = store.status();
  REQUIRE(status->dead.size() == 1);
  CHECK(status->dead.front().id == bad);
  CHECK(status->dead.front().body.empty());  // status lists never carry bodies

  clock.advance(1h);
  REQUIRE(store.retry_operation(bad, "alice", "amount fixed at Stripe"));
  auto again = store.claim_due_operations(clock.now(), 10);
  REQUIRE(again->size() == 1);
  CHECK(again->front().id == bad);
  CHECK(again->front().idempotency_key == "k-bad");
  auto audit = store.audit_entries();
  REQUIRE(audit);
  bool found = false;
  for (const auto& e : *audit) {
    if (e.action == "operation.retry" && e.actor == "alice" && e.subject == std::to_string(bad)) found = true;
  }
  CHECK(found);
}

TEST_CASE("operations left in flight by a crash go back to pending with the same key at open") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  std::int64_t id = 0;
  {
    auto store = open_store(path, clock);
    REQUIRE(store.persist_sale(make_sale("sale-1")));
    id = *store.enqueue_operation(make_op("k-1", "sale-1"));
    REQUIRE(store.claim_due_operations(clock.now(), 10)->size() == 1);
    CHECK(store.get_operation(id)->state == pos::OutboxState::InFlight);
  }  // the engine "crashed" with the operation in flight
  clock.advance(1min);
  auto store = open_store(path, clock);
  auto op = store.get_operation(id);
  CHECK(op->state == pos::OutboxState::Pending);
  CHECK(op->idempotency_key == "k-1");
  CHECK(op->attempts == 1);
  CHECK(op->next_attempt_at == clock.now());
  auto again = store.claim_due_operations(clock.now(), 10);
  REQUIRE(again->size() == 1);
  CHECK(again->front().attempts == 2);

  // The explicit call does the same and says how many.
  auto n = store.recover_in_flight();
  REQUIRE(n);
  CHECK(*n == 1);
  CHECK(store.get_operation(id)->state == pos::OutboxState::Pending);
}

TEST_CASE("a webhook event is recorded once and reported as already seen afterwards") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  WebhookEvent e{"evt_1", "payment_intent.succeeded", "acct_1TestMerchant", "abc123", clock.now(), false, ""};
  auto first = store.record_webhook_event(e);
  REQUIRE(first);
  CHECK(*first == WebhookSeen::New);
  auto second = store.record_webhook_event(e);
  REQUIRE(second);
  CHECK(*second == WebhookSeen::AlreadySeen);
  REQUIRE(store.mark_webhook_processed("evt_1", "attempt att-1 approved"));
  auto back = store.get_webhook_event("evt_1");
  REQUIRE(back);
  REQUIRE(back->has_value());
  CHECK((*back)->processed);
  CHECK((*back)->result == "attempt att-1 approved");
  CHECK((*back)->received_at == clock.now());
  CHECK(store.mark_webhook_processed("evt_404", "x").error().kind == ErrorKind::NotFound);
}

TEST_CASE("the audit log cannot be updated or deleted, even with raw SQL") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  {
    auto store = open_store(path, clock);
    auto id = store.append_audit({0, {}, "alice", "attention.resolve", "att-1", "refunded in cash"});
    REQUIRE(id);
    auto entries = store.audit_entries();
    REQUIRE(entries->size() == 1);
    CHECK(entries->front().at == clock.now());
    CHECK(entries->front().detail == "refunded in cash");
  }
  RawDb raw(path);
  std::string err;
  CHECK(raw.exec("UPDATE audit_log SET detail = 'nothing happened'", &err) == SQLITE_CONSTRAINT);
  CHECK(err.find("append-only") != std::string::npos);
  CHECK(raw.exec("DELETE FROM audit_log", &err) == SQLITE_CONSTRAINT);
  CHECK(raw.scalar("SELECT detail FROM audit_log") == "refunded in cash");
}

TEST_CASE("sales and payment attempts can never be deleted") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  {
    auto store = open_store(path, clock);
    REQUIRE(store.persist_sale(make_sale("sale-1")));
    REQUIRE(store.create_attempt(make_attempt("att-1", "sale-1")));
  }
  RawDb raw(path);
  CHECK(raw.exec("DELETE FROM payment_attempts") == SQLITE_CONSTRAINT);
  CHECK(raw.exec("PRAGMA foreign_keys = ON; DELETE FROM sales") == SQLITE_CONSTRAINT);
  CHECK(raw.scalar("SELECT COUNT(*) FROM sales") == "1");
}

TEST_CASE("an offline payment declined after forwarding lands on the attention list with the contact") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock, {.data_key = test_key()});
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  auto a = make_attempt("att-1", "sale-1");
  a.offline = true;
  a.state = pos::AttemptState::StoredOffline;
  a.payment_method = "pm_offline_abc";
  REQUIRE(store.create_attempt(a));
  REQUIRE(store.update_attempt({.attempt_id = "att-1", .state = pos::AttemptState::Submitting}));
  REQUIRE(store.update_attempt({.attempt_id = "att-1",
                                .state = pos::AttemptState::DeclinedAfterForward,
                                .decline_code = "insufficient_funds"}));
  auto items = store.attention_items();
  REQUIRE(items);
  REQUIRE(items->size() == 1);
  const auto& item = items->front();
  CHECK(item.attempt_id == "att-1");
  CHECK(item.sale_id == "sale-1");
  CHECK(item.reason == "declined_after_forward");
  CHECK(item.customer_contact == "customer@example.com");
  CHECK(item.amount == 1234);
  CHECK(item.currency == "usd");
  CHECK(item.decline_code == "insufficient_funds");
  CHECK(store.status()->attention.size() == 1);

  REQUIRE(store.resolve_attention(item.id, "alice", "customer paid cash"));
  CHECK(store.attention_items()->empty());
  auto all = store.attention_items(true);
  REQUIRE(all->size() == 1);
  CHECK(all->front().resolution == "customer paid cash");
  CHECK(store.resolve_attention(item.id, "alice", "twice").error().kind == ErrorKind::NotFound);
}

TEST_CASE("status counts states, the oldest unsent age, offline totals per currency and the in-doubt list") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock, {.data_key = test_key()});
  const Timestamp t0 = clock.now();
  REQUIRE(store.persist_sale(make_sale("s-usd-1")));
  REQUIRE(store.persist_sale(make_sale("s-usd-2")));
  auto eur = make_sale("s-eur-1");
  eur.currency = "eur";
  REQUIRE(store.persist_sale(eur));
  auto offline = [](std::string id, std::string sale, std::string cur, std::int64_t amount) {
    auto a = make_attempt(id, sale);
    a.currency = cur;
    a.amount = amount;
    a.offline = true;
    a.state = pos::AttemptState::StoredOffline;
    a.payment_method = "pm_" + id;
    return a;
  };
  REQUIRE(store.create_attempt(offline("a1", "s-usd-1", "usd", 1000)));
  clock.advance(1min);
  REQUIRE(store.create_attempt(offline("a2", "s-usd-2", "usd", 2500)));
  REQUIRE(store.create_attempt(offline("a3", "s-eur-1", "eur", 700)));
  REQUIRE(store.enqueue_operation(make_op("key-a1", "s-usd-1", "a1")));
  clock.advance(1min);
  REQUIRE(store.enqueue_operation(make_op("key-a2", "s-usd-2", "a2")));
  REQUIRE(store.update_attempt({.attempt_id = "a3", .state = pos::AttemptState::Submitting}));
  REQUIRE(store.update_attempt({.attempt_id = "a3", .state = pos::AttemptState::InDoubt}));
  // Forwarded and approved: Stripe answered, so it no longer counts as stored.
  REQUIRE(store.persist_sale(make_sale("s-usd-3")));
  REQUIRE(store.create_attempt(offline("a4", "s-usd-3", "usd", 900)));
  REQUIRE(store.update_attempt({.attempt_id = "a4", .state = pos::AttemptState::Submitting}));
  REQUIRE(store.update_attempt({.attempt_id = "a4", .state = pos::AttemptState::Approved, .payment_intent_id = "pi_a4"}));
  clock.advance(8min);

  auto s = store.status();
  REQUIRE(s);
  CHECK(s->operations.at(pos::OutboxState::Pending) == 2);
  CHECK(s->operations.at(pos::OutboxState::Dead) == 0);
  CHECK(s->attempts.at(pos::AttemptState::StoredOffline) == 2);
  CHECK(s->attempts.at(pos::AttemptState::InDoubt) == 1);
  CHECK(s->oldest_unsent_created_at == t0 + 1min);
  CHECK(s->oldest_unsent_age == std::chrono::milliseconds(9min));
  // a3 is in doubt while being forwarded: still unanswered, so it still counts under the caps.
  REQUIRE(s->offline_stored.size() == 2);
  CHECK(s->offline_stored[0] == CurrencyTotal{"eur", 1, 700, t0 + 1min});
  CHECK(s->offline_stored[1] == CurrencyTotal{"usd", 2, 3500, t0});
  REQUIRE(s->in_doubt.size() == 1);
  CHECK(s->in_doubt[0].id == "a3");
  CHECK(s->in_doubt[0].payment_method.empty());
}

TEST_CASE("sales_between returns the sales created in a range with their lines") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  const Timestamp day = clock.now();
  REQUIRE(store.persist_sale(make_sale("before", 1, 1, day - 1ms)));
  REQUIRE(store.persist_sale(make_sale("first", 2, 2, day)));
  REQUIRE(store.persist_sale(make_sale("last", 3, 3, day + 24h - 1ms)));
  REQUIRE(store.persist_sale(make_sale("next-day", 1, 4, day + 24h)));
  auto sales = store.sales_between(day, day + 24h);
  REQUIRE(sales);
  REQUIRE(sales->size() == 2);
  // updated_at is always the store's clock at the write; created_at is the register's.
  auto expect = [&](const std::string& id, int lines, std::int64_t n, Timestamp created) {
    auto s = make_sale(id, lines, n, created);
    s.updated_at = day;
    return s;
  };
  CHECK((*sales)[0] == expect("first", 2, 2, day));
  CHECK((*sales)[1] == expect("last", 3, 3, day + 24h - 1ms));
}

TEST_CASE("offline tokens are sealed: the raw database file never holds the plaintext token") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  const std::string token = "pm_1OfflineSecretToken7Q9";
  {
    auto store = open_store(path, clock, {.data_key = test_key()});
    REQUIRE(store.persist_sale(make_sale("sale-1")));
    auto a = make_attempt("att-1", "sale-1");
    a.offline = true;
    a.state = pos::AttemptState::StoredOffline;
    a.payment_method = token;
    REQUIRE(store.create_attempt(a));
    auto op = make_op("key-att-1", "sale-1", "att-1");
    op.body = "amount=1234&currency=usd&payment_method=" + token + "&confirm=true";
    REQUIRE(store.enqueue_operation(op));
    CHECK(store.get_attempt("att-1")->payment_method == token);
    auto claimed = store.claim_due_operations(clock.now(), 1);
    REQUIRE(claimed->size() == 1);
    CHECK(claimed->front().body == op.body);
    // Still open: the WAL holds the latest pages; check it too.
    for (const auto& f : {path, path + "-wal"}) {
      INFO(f);
      CHECK(read_all_bytes(f).find(token) == std::string::npos);
    }
  }
  CHECK(read_all_bytes(path).find(token) == std::string::npos);
  CHECK(read_all_bytes(path).find("acct_1TestMerchant") != std::string::npos);  // the check can see text

  SECTION("another key cannot open them") {
    auto store = open_store(path, clock, {.data_key = test_key(kOtherKeyHex)});
    auto a = store.get_attempt("att-1");
    REQUIRE_FALSE(a);
    CHECK(a.error().kind == ErrorKind::DataLoss);
  }
  SECTION("no key cannot read them, but status still works") {
    auto store = open_store(path, clock);
    CHECK(store.get_attempt("att-1").error().kind == ErrorKind::FailedPrecondition);
    auto s = store.status();
    REQUIRE(s);
    CHECK(s->attempts.at(pos::AttemptState::StoredOffline) == 1);
  }
}

TEST_CASE("an offline token is refused when no data key is configured") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.persist_sale(make_sale("sale-1")));
  auto a = make_attempt("att-1", "sale-1");
  a.offline = true;
  a.state = pos::AttemptState::StoredOffline;
  a.payment_method = "pm_offline";
  auto r = store.create_attempt(a);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  CHECK(r.error().message.find("TILL_DATA_KEY") != std::string::npos);
  CHECK(store.get_attempt("att-1").error().kind == ErrorKind::NotFound);
}

TEST_CASE("a data key comes from hex, the environment or a 0600 key file, never a looser one") {
  TempDir dir;
  CHECK(DataKey::from_hex("abc").error().kind == ErrorKind::InvalidArgument);
  CHECK(DataKey::from_hex(std::string(64, 'g')).error().kind == ErrorKind::InvalidArgument);
  CHECK(DataKey::from_hex(std::string(kKeyHex) + "\n"));

  const auto file = dir.file("data.key");
  { std::ofstream(file) << kKeyHex << "\n"; }
  REQUIRE(::chmod(file.c_str(), 0644) == 0);
  auto loose = DataKey::from_file(file);
  REQUIRE_FALSE(loose);
  CHECK(loose.error().kind == ErrorKind::PermissionDenied);
  CHECK(loose.error().message.find("0644") != std::string::npos);
  CHECK(loose.error().message.find(kKeyHex) == std::string::npos);
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  auto k = DataKey::from_file(file);
  REQUIRE(k);
  CHECK(DataKey::from_file(dir.file("missing.key")).error().kind == ErrorKind::NotFound);

  // What one loader sealed, the other opens: both read the same key.
  auto sealed = test_key().seal("pm_x", "aad");
  REQUIRE(sealed);
  CHECK(*k->open(*sealed, "aad") == "pm_x");
  CHECK(k->open(*sealed, "other row").error().kind == ErrorKind::DataLoss);

  ::unsetenv("TILL_DATA_KEY");
  ::unsetenv("TILL_DATA_KEY_FILE");
  auto none = DataKey::from_environment();
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  auto fallback = DataKey::from_environment(file);
  REQUIRE(fallback);
  CHECK(fallback->has_value());
  ::setenv("TILL_DATA_KEY", kOtherKeyHex, 1);
  auto env = DataKey::from_environment(file);
  ::unsetenv("TILL_DATA_KEY");
  REQUIRE(env);
  REQUIRE(env->has_value());
  CHECK((*env)->open(*sealed, "aad").error().kind == ErrorKind::DataLoss);  // the env key won
  ::setenv("TILL_DATA_KEY", "not-hex", 1);
  auto bad = DataKey::from_environment();
  ::unsetenv("TILL_DATA_KEY");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == ErrorKind::InvalidArgument);
}

TEST_CASE("a full disk fails the write with ResourceExhausted, rolls it back and loses nothing") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  {
    auto store = open_store(path, clock);
    for (int i = 0; i < 3; ++i) REQUIRE(store.persist_sale(make_sale("early-" + std::to_string(i))));
  }
  std::int64_t pages = 0;
  {
    RawDb raw(path);
    pages = std::stoll(raw.scalar("PRAGMA page_count"));
  }
  std::vector<std::string> written;
  Status failure;
  std::string failed_id;
  {
    auto store = open_store(path, clock, {.max_page_count = pages + 4});
    for (int i = 0; i < 200 && failure; ++i) {
      // 60 lines with long names: a few pages per sale, so the quota is hit within a few sales.
      auto sale = make_sale("big-" + std::to_string(i), 60, i);
      for (auto& l : sale.lines) l.name = std::string(180, static_cast<char>('a' + i % 26));
      failure = store.persist_sale(sale);
      if (failure) {
        written.push_back(sale.id);
      } else {
        failed_id = sale.id;
      }
    }
    REQUIRE_FALSE(failure);
    CHECK(failure.error().kind == ErrorKind::ResourceExhausted);
    CHECK(failure.error().message.find("rolled back") != std::string::npos);
    // Nothing half-written, and the store keeps working for reads.
    CHECK(store.get_sale(failed_id).error().kind == ErrorKind::NotFound);
    CHECK(store.get_sale("early-0"));
  }
  auto store = open_store(path, clock, {.integrity_check = IntegrityCheck::Full});
  for (int i = 0; i < 3; ++i) {
    const auto id = "early-" + std::to_string(i);
    CHECK(*store.get_sale(id) == make_sale(id, 5, 1, store.get_sale(id)->created_at));
  }
  for (const auto& id : written) CHECK(store.get_sale(id)->lines.size() == 60);
  CHECK(store.get_sale(failed_id).error().kind == ErrorKind::NotFound);
  // With space back, the same sale commits.
  REQUIRE(store.persist_sale(make_sale(failed_id, 60)));
}

TEST_CASE("a second writer is refused with the first writer's pid, and gets in once it is gone") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  auto first = Store::open(path, clock);
  REQUIRE(first);
  auto second = Store::open(path, clock);
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == ErrorKind::FailedPrecondition);
  CHECK(second.error().message.find("in use by pid " + std::to_string(::getpid())) != std::string::npos);
  { auto gone = std::move(*first); }
  auto third = Store::open(path, clock);
  CHECK(third);
}

TEST_CASE("a read-only store reads beside the writer without the lock and cannot write") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  CHECK(Store::open(path, clock, {.mode = OpenMode::ReadOnly}).error().kind == ErrorKind::NotFound);
  auto writer = open_store(path, clock);
  REQUIRE(writer.persist_sale(make_sale("sale-1")));
  auto reader = open_store(path, clock, {.mode = OpenMode::ReadOnly});
  CHECK(reader.read_only());
  CHECK(reader.get_sale("sale-1"));
  REQUIRE(writer.persist_sale(make_sale("sale-2")));
  CHECK(reader.get_sale("sale-2"));  // sees new commits
  auto w = reader.persist_sale(make_sale("sale-3"));
  REQUIRE_FALSE(w);
  CHECK(w.error().kind == ErrorKind::FailedPrecondition);
  CHECK(reader.status());
}

TEST_CASE("a database held by another connection's write is reported as Unavailable") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  auto store = open_store(path, clock, {.busy_timeout = 0ms});
  RawDb raw(path);
  REQUIRE(raw.exec("BEGIN IMMEDIATE") == SQLITE_OK);
  auto r = store.persist_sale(make_sale("sale-1"));
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::Unavailable);
  REQUIRE(raw.exec("ROLLBACK") == SQLITE_OK);
  REQUIRE(store.persist_sale(make_sale("sale-1")));
}
