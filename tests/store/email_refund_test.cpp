// The email receipt queue (personal data sealed, minimised once sent) and refunds of past sales
// (found by receipt number, never more than was captured, whoever enqueues them).
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

#include "store_fixtures.hpp"
#include "till/store/store.hpp"

using namespace till;
using namespace till::store;
using namespace till::store::testing;

namespace {

constexpr const char* kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

DataKey test_key() {
  auto k = DataKey::from_hex(kKeyHex);
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

constexpr const char* kSaleId = "6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40";

// A paid sale of 1234 with a declined card attempt, then an approved one (pi_1), plus 500 cash.
void paid_sale(Store& store, const std::string& id = kSaleId) {
  REQUIRE(store.sales().persist(make_sale(id)));
  auto declined = make_attempt(id + "-a1", id, 1);
  declined.state = pos::AttemptState::Declined;
  declined.decline_code = "insufficient_funds";
  REQUIRE(store.attempts().create(declined));
  auto approved = make_attempt(id + "-a2", id, 2);
  approved.state = pos::AttemptState::Approved;
  approved.payment_intent_id = "pi_1";
  approved.payment_method = "pm_card_present_1";
  approved.card.last4 = "4242";
  REQUIRE(store.attempts().create(approved));
  auto cash = make_attempt(id + "-a3", id, 3);
  cash.tender = pos::TenderKind::Cash;
  cash.state = pos::AttemptState::Approved;
  cash.amount = 500;
  cash.idempotency_key.clear();
  REQUIRE(store.attempts().create(cash));
}

pos::OutboxOperation refund_op(const std::string& key, const std::string& attempt_id,
                               std::optional<std::int64_t> amount, const std::string& sale_id = kSaleId) {
  pos::OutboxOperation o;
  o.kind = pos::OperationKind::Refund;
  o.sale_id = sale_id;
  o.attempt_id = attempt_id;
  o.account_id = "acct_1TestMerchant";
  o.path = "/v1/refunds";
  o.body = "payment_intent=pi_1";
  if (amount) o.body += "&amount=" + std::to_string(*amount);
  o.body += "&metadata[sale_id]=" + sale_id;
  o.idempotency_key = key;
  return o;
}

// Sends one pending operation through to done, as the sync engine would.
void complete(Store& store, const Clock& clock, std::int64_t id) {
  auto claimed = store.outbox().claim_due(clock.now(), 100);
  REQUIRE(claimed);
  bool found = false;
  for (const auto& o : *claimed) {
    if (o.id == id) found = true;
    else REQUIRE(store.outbox().mark_failed(o.id, {"not this one", "", clock.now() + std::chrono::hours(1)}));
  }
  REQUIRE(found);
  REQUIRE(store.outbox().complete(id, {"req_1", "re_" + std::to_string(id)}));
}

}  // namespace

TEST_CASE("an email receipt is queued with its text and listed for the sender; the audit log never holds the address") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.sales().persist(make_sale("sale-1")));
  auto id = store.email_receipts().enqueue("sale-1", "ann@example.com", "Corner Shop\nTOTAL USD 2.75\n");
  REQUIRE(id);
  auto queued = store.email_receipts().list(EmailReceiptState::Queued);
  REQUIRE(queued);
  REQUIRE(queued->size() == 1);
  const EmailReceipt& e = queued->front();
  CHECK(e.id == *id);
  CHECK(e.sale_id == "sale-1");
  CHECK(e.address == "ann@example.com");
  CHECK(e.body == "Corner Shop\nTOTAL USD 2.75\n");
  CHECK(e.state == EmailReceiptState::Queued);
  CHECK(e.attempts == 0);
  CHECK(e.created_at == clock.now());
  CHECK_FALSE(e.sent_at);
  CHECK(store.email_receipts().for_sale("sale-1")->size() == 1);
  CHECK(store.email_receipts().list(EmailReceiptState::Sent)->empty());
  auto audit = store.journal().audit();
  REQUIRE(audit);
  bool queued_entry = false;
  for (const auto& a : *audit) {
    if (a.action == "email_receipt.queued") queued_entry = true;
    CHECK(a.detail.find("ann@") == std::string::npos);
    CHECK(a.subject.find("ann@") == std::string::npos);
  }
  CHECK(queued_entry);
}

TEST_CASE("with a data key the email address and receipt are sealed: neither the file nor its WAL holds them") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  {
    auto store = open_store(path, clock, {.data_key = test_key()});
    REQUIRE(store.sales().persist(make_sale("sale-1")));
    REQUIRE(store.email_receipts().enqueue("sale-1", "zelda.private@example.org", "RECEIPT-BODY-MARKER"));
    CHECK(store.email_receipts().list()->front().address == "zelda.private@example.org");
    for (const auto& f : {path, path + "-wal"}) {
      const std::string bytes = read_all_bytes(f);
      CHECK(bytes.find("zelda.private") == std::string::npos);
      CHECK(bytes.find("RECEIPT-BODY-MARKER") == std::string::npos);
    }
  }
  const std::string bytes = read_all_bytes(path);  // after the checkpoint at close
  CHECK(bytes.find("zelda.private") == std::string::npos);
  // Without the key the list cannot be read, and says why.
  auto keyless = open_store(path, clock);
  auto list = keyless.email_receipts().list();
  REQUIRE_FALSE(list);
  CHECK(list.error().kind == ErrorKind::FailedPrecondition);
  CHECK_THAT(list.error().message, Catch::Contains("encrypted at rest"));
}

TEST_CASE("a sent email receipt keeps only a masked address and no body") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock, {.data_key = test_key()});
  REQUIRE(store.sales().persist(make_sale("sale-1")));
  const auto id = store.email_receipts().enqueue("sale-1", "ann@example.com", "receipt").value();
  clock.advance(std::chrono::minutes(1));
  REQUIRE(store.email_receipts().mark_sent(id));
  const EmailReceipt e = store.email_receipts().list()->front();
  CHECK(e.state == EmailReceiptState::Sent);
  CHECK(e.address == "a***@example.com");
  CHECK(e.body.empty());
  CHECK(e.attempts == 1);
  CHECK(e.sent_at == clock.now());
  auto again = store.email_receipts().mark_sent(id);
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::FailedPrecondition);
  CHECK(store.email_receipts().mark_sent(999).error().kind == ErrorKind::NotFound);
}

TEST_CASE("a failed delivery stays queued unless permanent, and a person can requeue a failed one") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.sales().persist(make_sale("sale-1")));
  const auto id = store.email_receipts().enqueue("sale-1", "ann@example.com", "receipt").value();
  REQUIRE(store.email_receipts().mark_failed(id, "connection refused", false));
  auto e = store.email_receipts().list()->front();
  CHECK(e.state == EmailReceiptState::Queued);
  CHECK(e.attempts == 1);
  CHECK(e.last_error == "connection refused");
  REQUIRE(store.email_receipts().mark_failed(id, "550 no such user", true));
  e = store.email_receipts().list()->front();
  CHECK(e.state == EmailReceiptState::Failed);
  CHECK(e.attempts == 2);
  CHECK(e.address == "ann@example.com");  // kept so a person can see what was typed
  CHECK(store.email_receipts().mark_failed(id, "again", false).error().kind == ErrorKind::FailedPrecondition);
  REQUIRE(store.email_receipts().requeue(id, "manager", "address checked with the customer"));
  CHECK(store.email_receipts().list(EmailReceiptState::Queued)->size() == 1);
  CHECK(store.email_receipts().requeue(id, "manager", "twice").error().kind == ErrorKind::FailedPrecondition);
  const auto audit = store.journal().audit().value();
  CHECK(audit.back().action == "email_receipt.requeue");
  CHECK(audit.back().actor == "manager");
}

TEST_CASE("malformed email addresses and unknown sales are refused and nothing is queued") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.sales().persist(make_sale("sale-1")));
  for (const char* bad : {"", "ann", "ann@", "@example.com", "ann@example", "ann@@example.com",
                          "ann smith@example.com", "ann@example.com\nBcc: x@y.z", "a@b.c,d@e.f", "ann@.com"}) {
    INFO(bad);
    auto r = store.email_receipts().enqueue("sale-1", bad, "receipt");
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::InvalidArgument);
  }
  CHECK(store.email_receipts().enqueue("nope", "ann@example.com", "receipt").error().kind == ErrorKind::NotFound);
  CHECK(store.email_receipts().list()->empty());
}

TEST_CASE("a sale is found by its full id or by the first 8 or more characters of the printed receipt number") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.sales().persist(make_sale(kSaleId)));
  REQUIRE(store.sales().persist(make_sale("6f1c2a9e-ffff-4c1e-9a55-000000000000")));  // same first group
  REQUIRE(store.sales().persist(make_sale("sale-1")));
  CHECK(store.reports().sale_id_for_receipt_number(kSaleId).value() == kSaleId);
  CHECK(store.reports().sale_id_for_receipt_number("  6F1C2A9E-0B7D  ").value() == kSaleId);
  CHECK(store.reports().sale_id_for_receipt_number("sale-1").value() == "sale-1");  // any full id
  auto ambiguous = store.reports().sale_id_for_receipt_number("6f1c2a9e");
  REQUIRE_FALSE(ambiguous);
  CHECK(ambiguous.error().kind == ErrorKind::FailedPrecondition);
  CHECK_THAT(ambiguous.error().message, Catch::Contains("type more"));
  auto shorter = store.reports().sale_id_for_receipt_number("6f1c2a");
  REQUIRE_FALSE(shorter);
  CHECK(shorter.error().kind == ErrorKind::InvalidArgument);
  CHECK(store.reports().sale_id_for_receipt_number("0123abcd").error().kind == ErrorKind::NotFound);
  CHECK(store.reports().sale_id_for_receipt_number("").error().kind == ErrorKind::InvalidArgument);
}

TEST_CASE("a past sale for refund lists its attempts and what is already refunded, done or not") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  paid_sale(store);
  const std::string card = std::string(kSaleId) + "-a2";
  const auto done = store.outbox().enqueue(refund_op("refund-1", card, 300)).value();
  complete(store, clock, done);
  REQUIRE(store.outbox().enqueue(refund_op("refund-2", card, 200)));

  auto r = store.reports().sale_for_refund("6f1c2a9e");  // as typed from the receipt
  REQUIRE(r);
  CHECK(r->sale.id == kSaleId);
  CHECK(r->sale.lines.size() == 5);
  REQUIRE(r->payments.size() == 3);
  CHECK(r->payments[0].attempt.state == pos::AttemptState::Declined);
  CHECK(r->payments[0].captured == 0);
  CHECK(r->payments[1].attempt.id == card);
  CHECK(r->payments[1].attempt.payment_method.empty());  // never handed out here
  CHECK(r->payments[1].attempt.card.last4 == "4242");
  CHECK(r->payments[1].captured == 1234);
  CHECK(r->payments[1].refunded == 300);
  CHECK(r->payments[1].refund_pending == 200);
  CHECK(r->payments[1].refundable() == 734);
  CHECK(r->payments[2].attempt.tender == pos::TenderKind::Cash);
  CHECK(r->payments[2].captured == 0);  // cash is refunded from the drawer, not through Stripe
  CHECK(r->captured == 1234);
  CHECK(r->refunded == 300);
  CHECK(r->refund_pending == 200);
  CHECK(r->refundable == 734);
  REQUIRE(r->refunds.size() == 2);
  CHECK(r->refunds[0].state == pos::OutboxState::Done);
  CHECK(r->refunds[0].stripe_object_id == "re_" + std::to_string(done));
  CHECK(r->refunds[0].body.empty());
}

TEST_CASE("a refund can never exceed what was captured, whoever enqueues it") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  paid_sale(store);
  const std::string card = std::string(kSaleId) + "-a2";
  auto too_much = store.outbox().enqueue(refund_op("r-0", card, 1235));
  REQUIRE_FALSE(too_much);
  CHECK(too_much.error().kind == ErrorKind::FailedPrecondition);
  CHECK_THAT(too_much.error().message, Catch::Contains("1234 of 1234 captured"));
  CHECK(store.outbox().enqueue(refund_op("r-z", card, 0)).error().kind == ErrorKind::InvalidArgument);
  REQUIRE(store.outbox().enqueue(refund_op("r-1", card, 1000)));
  auto over = store.outbox().enqueue(refund_op("r-2", card, 235));  // 1000 is pending: 234 left
  REQUIRE_FALSE(over);
  CHECK_THAT(over.error().message, Catch::Contains("234 of 1234"));
  // A full refund (no amount) takes what is left, and then nothing is left.
  REQUIRE(store.outbox().enqueue(refund_op("r-3", card, std::nullopt)));
  CHECK(store.reports().sale_for_refund(kSaleId)->refundable == 0);
  CHECK(store.reports().sale_for_refund(kSaleId)->refund_pending == 1234);
  CHECK(store.outbox().enqueue(refund_op("r-4", card, 1)).error().kind == ErrorKind::FailedPrecondition);
  CHECK(store.outbox().enqueue(refund_op("r-5", card, std::nullopt)).error().kind ==
        ErrorKind::FailedPrecondition);
  // Declined and cash attempts are not refundable through Stripe; a refund names its attempt.
  CHECK(store.outbox().enqueue(refund_op("r-6", std::string(kSaleId) + "-a1", 100)).error().kind ==
        ErrorKind::FailedPrecondition);
  CHECK(store.outbox().enqueue(refund_op("r-7", std::string(kSaleId) + "-a3", 100)).error().kind ==
        ErrorKind::FailedPrecondition);
  CHECK(store.outbox().enqueue(refund_op("r-8", "", 100)).error().kind == ErrorKind::InvalidArgument);
  CHECK(store.reports().sale_for_refund(kSaleId)->refunds.size() == 2);  // the refused ones left nothing behind
}

TEST_CASE("a dead refund still counts against what is left until a person settles it") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  paid_sale(store);
  const std::string card = std::string(kSaleId) + "-a2";
  const auto id = store.outbox().enqueue(refund_op("r-1", card, 1000)).value();
  REQUIRE(store.outbox().claim_due(clock.now(), 10));
  REQUIRE(store.outbox().mark_dead(id, {"timeout after the request was sent", "", {}}));
  auto r = store.reports().sale_for_refund(kSaleId);
  REQUIRE(r);
  CHECK(r->refund_pending == 1000);  // it may have reached Stripe: never refund twice
  CHECK(r->refundable == 234);
  CHECK(store.outbox().enqueue(refund_op("r-2", card, 1000)).error().kind == ErrorKind::FailedPrecondition);
}

TEST_CASE("with sealed outbox bodies the refund amounts are read with the key, and a keyless reader is told why") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  auto store = open_store(path, clock, {.data_key = test_key()});
  paid_sale(store);
  const std::string card = std::string(kSaleId) + "-a2";
  REQUIRE(store.outbox().enqueue(refund_op("r-1", card, 400)));
  CHECK(store.reports().sale_for_refund(kSaleId)->refundable == 834);
  CHECK(store.outbox().enqueue(refund_op("r-2", card, 835)).error().kind == ErrorKind::FailedPrecondition);
  auto reader = open_store(path, clock, {.mode = OpenMode::ReadOnly});
  auto r = reader.reports().sale_for_refund(kSaleId);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::FailedPrecondition);
}
