// Migrations and refusals at open: every older schema version migrates with its data, a newer
// one is refused, a damaged file is refused with DataLoss.
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "store_fixtures.hpp"
#include "till/store/schema.hpp"
#include "till/store/store.hpp"

using namespace till;
using namespace till::store;
using namespace till::store::testing;

namespace {

// Builds the database an older build (schema version `n`) would have left: the first n
// migrations, then rows written the way that build wrote them.
void build_at_version(const std::string& path, int n) {
  RawDb raw(path);
  std::string err;
  for (const Migration& m : migrations()) {
    if (m.version > n) break;
    REQUIRE(raw.exec("BEGIN IMMEDIATE") == SQLITE_OK);
    INFO("migration " << m.version);
    REQUIRE(raw.exec(std::string(m.sql), &err) == SQLITE_OK);
    REQUIRE(raw.exec("PRAGMA user_version = " + std::to_string(m.version)) == SQLITE_OK);
    REQUIRE(raw.exec("INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", 1)") ==
            SQLITE_OK);
    REQUIRE(raw.exec("COMMIT") == SQLITE_OK);
  }
  if (n >= 1) {
    const char* v1_rows = R"sql(
      INSERT INTO sales VALUES ('sale-1', 'reg-1', 'acct_1', 'usd', 'tendering', 1000, 0, 100, 0, 1100,
                                'ann@example.com', 1700000000000, 1700000000000);
      INSERT INTO sale_lines VALUES ('sale-1', 1, 'p1', 'SKU1', 'Coffee', 2, 500, 0, 'standard', 100000, 0,
                                     1000, 100, 1100);
      INSERT INTO tax_lines VALUES ('sale-1', 1, 'standard', 100000, 1000, 100);
      INSERT INTO payment_attempts (id, sale_id, number, tender, state, amount, currency, account_id,
                                    idempotency_key, offline, payment_method, card_brand, card_last4,
                                    decline_code, created_at, updated_at)
        VALUES ('att-1', 'sale-1', 1, 'card', 'declined_after_forward', 1100, 'usd', 'acct_1', 'key-1', 1,
                NULL, 'visa', '0002', 'card_declined', 1700000001000, 1700000002000);
      INSERT INTO payment_attempts (id, sale_id, number, tender, state, amount, currency, account_id,
                                    idempotency_key, offline, created_at, updated_at)
        VALUES ('att-2', 'sale-1', 2, 'card', 'approved', 1100, 'usd', 'acct_1', 'key-2', 0,
                1700000003000, 1700000004000);
      INSERT INTO outbox_operations (kind, sale_id, attempt_id, account_id, method, path, body,
                                     idempotency_key, state, attempts, next_attempt_at, first_sent_at,
                                     created_at, updated_at)
        VALUES ('create_payment_intent', 'sale-1', 'att-2', 'acct_1', 'POST', '/v1/payment_intents',
                'amount=1100&currency=usd', 'key-2', 'done', 1, 1700000003000, 1700000003500,
                1700000003000, 1700000004000);
    )sql";
    REQUIRE(raw.exec(v1_rows, &err) == SQLITE_OK);
  }
  if (n >= 2) {
    const char* v2_rows = R"sql(
      INSERT INTO webhook_events VALUES ('evt_1', 'payment_intent.succeeded', 'acct_1', 'hash', 1700000005000,
                                         1, 'approved att-2', 1700000005001);
      INSERT INTO audit_log (at, actor, action, subject, detail)
        VALUES (1700000006000, 'alice', 'operation.retry', '1', 'checked');
    )sql";
    REQUIRE(raw.exec(v2_rows, &err) == SQLITE_OK);
  }
  if (n >= 3) {
    // A version-3 build put the declined_after_forward payment on the attention list itself.
    const char* v3_rows = R"sql(
      INSERT INTO attention_items (sale_id, attempt_id, reason, customer_contact, amount, currency,
                                   decline_code, created_at)
        VALUES ('sale-1', 'att-1', 'declined_after_forward', 'ann@example.com', 1100, 'usd',
                'card_declined', 1700000002000);
    )sql";
    REQUIRE(raw.exec(v3_rows, &err) == SQLITE_OK);
  }
}

}  // namespace

TEST_CASE("a fresh database is created at the current schema version") {
  TempDir dir;
  FakeClock clock;
  auto store = Store::open(dir.file("till.db"), clock);
  REQUIRE(store);
  CHECK(store->schema_version() == current_schema_version());
  RawDb raw(dir.file("till.db"));
  CHECK(raw.scalar("PRAGMA user_version") == std::to_string(current_schema_version()));
  CHECK(raw.scalar("PRAGMA journal_mode") == "wal");
  CHECK(raw.scalar("SELECT COUNT(*) FROM schema_migrations") == std::to_string(current_schema_version()));
}

TEST_CASE("every older schema version migrates to the current one with its data") {
  REQUIRE(current_schema_version() == 5);  // extend build_at_version() when adding a migration
  for (int n = 0; n < current_schema_version(); ++n) {
    DYNAMIC_SECTION("from version " << n) {
      TempDir dir;
      FakeClock clock;
      const auto path = dir.file("till.db");
      build_at_version(path, n);
      auto store = Store::open(path, clock);
      REQUIRE(store);
      CHECK(store->schema_version() == current_schema_version());
      {
        RawDb raw(path);
        CHECK(raw.scalar("PRAGMA user_version") == std::to_string(current_schema_version()));
        CHECK(raw.scalar(
                  "SELECT group_concat(version) FROM (SELECT version FROM schema_migrations ORDER BY 1)") ==
              "1,2,3,4,5");
      }
      if (n == 0) {
        CHECK(store->reports().status()->operations.at(pos::OutboxState::Pending) == 0);
        continue;
      }
      auto sale = store->sales().get("sale-1");
      REQUIRE(sale);
      CHECK(sale->total == 1100);
      CHECK(sale->customer_contact == "ann@example.com");
      REQUIRE(sale->lines.size() == 1);
      CHECK(sale->lines[0].name == "Coffee");
      CHECK(sale->lines[0].gross == 1100);
      REQUIRE(sale->taxes.size() == 1);
      CHECK(sale->taxes[0].tax == 100);
      auto attempts = store->attempts().for_sale("sale-1");
      REQUIRE(attempts);
      REQUIRE(attempts->size() == 2);
      CHECK((*attempts)[0].state == pos::AttemptState::DeclinedAfterForward);
      CHECK((*attempts)[0].card.last4 == "0002");
      CHECK((*attempts)[1].state == pos::AttemptState::Approved);
      auto ops = store->outbox().for_sale("sale-1");
      REQUIRE(ops);
      REQUIRE(ops->size() == 1);
      CHECK(ops->front().body == "amount=1100&currency=usd");
      CHECK(ops->front().first_sent_at == from_unix_ms(1700000003500));
      // Migration 3 backfilled the attention list from the older build's declined_after_forward.
      auto attention = store->journal().attention();
      REQUIRE(attention);
      REQUIRE(attention->size() == 1);
      CHECK(attention->front().attempt_id == "att-1");
      CHECK(attention->front().customer_contact == "ann@example.com");
      CHECK(attention->front().decline_code == "card_declined");
      CHECK(attention->front().amount == 1100);
      if (n >= 2) {
        auto evt = store->journal().webhook("evt_1");
        REQUIRE(evt);
        REQUIRE(evt->has_value());
        CHECK((*evt)->processed);
        CHECK(*store->journal().record_webhook(
                  {"evt_1", "payment_intent.succeeded", "acct_1", "hash", {}, false, ""}) ==
              WebhookSeen::AlreadySeen);
        auto audit = store->journal().audit();
        REQUIRE(audit);
        REQUIRE_FALSE(audit->empty());
        CHECK(audit->front().actor == "alice");
      }
      // The migrated database takes new writes, the email receipt queue (migration 4) included,
      // and the sale found by its receipt number shows what can be refunded.
      REQUIRE(store->sales().persist(make_sale("sale-2")));
      REQUIRE(store->email_receipts().enqueue("sale-1", "ann@example.com", "receipt"));
      CHECK(store->email_receipts().list(EmailReceiptState::Queued)->size() == 1);
      auto refund = store->reports().sale_for_refund("sale-1");
      REQUIRE(refund);
      CHECK(refund->captured == 1100);  // att-2, approved
      CHECK(refund->refundable == 1100);
    }
  }
}

TEST_CASE("a database with a newer schema than this build knows is refused and left untouched") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  { REQUIRE(Store::open(path, clock)); }
  {
    RawDb raw(path);
    REQUIRE(raw.exec("PRAGMA user_version = 99") == SQLITE_OK);
  }
  for (auto mode : {OpenMode::Writer, OpenMode::ReadOnly}) {
    auto store = Store::open(path, clock, {.mode = mode});
    REQUIRE_FALSE(store);
    CHECK(store.error().kind == ErrorKind::FailedPrecondition);
    CHECK(store.error().message.find("newer") != std::string::npos);
  }
  RawDb raw(path);
  CHECK(raw.scalar("PRAGMA user_version") == "99");
}

TEST_CASE("a read-only open of a database that still needs migrating is refused") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  build_at_version(path, 2);
  auto store = Store::open(path, clock, {.mode = OpenMode::ReadOnly});
  REQUIRE_FALSE(store);
  CHECK(store.error().kind == ErrorKind::FailedPrecondition);
  CHECK(store.error().message.find("migrate") != std::string::npos);
}

TEST_CASE("a database with damaged pages is refused with DataLoss") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  {
    auto store = Store::open(path, clock);
    REQUIRE(store);
    for (int i = 0; i < 50; ++i) REQUIRE(store->sales().persist(make_sale("sale-" + std::to_string(i))));
  }  // closing checkpoints the WAL into the main file
  long page_size = 0;
  long root = 0;
  {
    RawDb raw(path);
    page_size = std::stol(raw.scalar("PRAGMA page_size"));
    root = std::stol(raw.scalar("SELECT rootpage FROM sqlite_schema WHERE name = 'sale_lines'"));
  }
  REQUIRE(root > 1);

  SECTION("a b-tree page overwritten") {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((root - 1) * page_size);
    const std::string garbage(64, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  SECTION("the file header overwritten") {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    const std::string garbage(32, '\x01');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  for (auto mode : {OpenMode::Writer, OpenMode::ReadOnly}) {
    auto store = Store::open(path, clock, {.mode = mode});
    REQUIRE_FALSE(store);
    INFO(store.error().describe());
    CHECK(store.error().kind == ErrorKind::DataLoss);
  }
}

TEST_CASE("with the check deferred a damaged file opens, and check_integrity then reports DataLoss") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  {
    auto store = Store::open(path, clock);
    REQUIRE(store);
    for (int i = 0; i < 50; ++i) REQUIRE(store->sales().persist(make_sale("sale-" + std::to_string(i))));
    REQUIRE(store->check_integrity());
    REQUIRE(store->check_integrity(IntegrityCheck::Full));
  }
  long page_size = 0;
  long root = 0;
  {
    RawDb raw(path);
    page_size = std::stol(raw.scalar("PRAGMA page_size"));
    root = std::stol(raw.scalar("SELECT rootpage FROM sqlite_schema WHERE name = 'sale_lines'"));
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((root - 1) * page_size);
    const std::string garbage(64, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  for (auto mode : {OpenMode::Writer, OpenMode::ReadOnly}) {
    auto store = Store::open(path, clock, {.mode = mode, .integrity_check = IntegrityCheck::Deferred});
    REQUIRE(store);
    auto checked = store->check_integrity();
    REQUIRE_FALSE(checked);
    CHECK(checked.error().kind == ErrorKind::DataLoss);
    CHECK_THAT(checked.error().message, Catch::Contains("damaged"));
  }
}

TEST_CASE("a read-only store on another thread checks integrity while the writer commits") {
  TempDir dir;
  FakeClock clock;
  const auto path = dir.file("till.db");
  auto writer = Store::open(path, clock, {.integrity_check = IntegrityCheck::Deferred});
  REQUIRE(writer);
  for (int i = 0; i < 200; ++i) REQUIRE(writer->sales().persist(make_sale("sale-" + std::to_string(i))));
  Status checked = ok();
  std::thread checker([&] {
    auto reader = Store::open(path, clock, {.mode = OpenMode::ReadOnly, .integrity_check = IntegrityCheck::Deferred});
    checked = reader ? reader->check_integrity() : Status(fail(reader.error()));
  });
  for (int i = 200; i < 260; ++i) REQUIRE(writer->sales().persist(make_sale("sale-" + std::to_string(i))));
  checker.join();
  CHECK(checked);
  CHECK(writer->sales().get("sale-259"));
}
