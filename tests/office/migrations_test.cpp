// Schema migrations on a real PostgreSQL 15 cluster: fresh apply, re-apply, concurrent
// appliers, refusals, and the schema's own rules (append-only audit log, checks).

#include <thread>

#include <catch2/catch.hpp>

#include "pg_cluster.hpp"
#include "till/office/migrations.hpp"

using namespace till;
using namespace till::office;
using till::office::test::TestCluster;

namespace {

std::unique_ptr<pg::Connection> connect(const std::string& conninfo) {
  auto c = pg::Connection::open(conninfo);
  REQUIRE(c);
  return std::move(*c);
}

std::int64_t count(pg::Connection& c, const std::string& sql) {
  auto r = c.exec(sql);
  REQUIRE(r);
  return (*r)[0].i64(0);
}

const FakeClock kClock;

}  // namespace

TEST_CASE("a fresh database gets every table of the schema and its version") {
  auto c = connect(TestCluster::get().fresh_database());
  auto report = migrate(*c, kClock);
  REQUIRE(report);
  CHECK(report->from_version == 0);
  CHECK(report->to_version == embedded_migrations().back().version);
  CHECK(report->applied.size() == embedded_migrations().size());
  for (const char* table : {"merchants", "stores", "registers", "sales", "payments", "refunds", "voids", "conflicts",
                            "webhook_events", "stripe_operations", "rate_limit_buckets", "audit_log",
                            "schema_migrations"}) {
    INFO(table);
    auto r = c->exec("SELECT to_regclass($1) IS NOT NULL", {table});
    REQUIRE(r);
    CHECK((*r)[0].boolean(0));
  }
  auto v = schema_version(*c);
  REQUIRE(v);
  CHECK(*v == embedded_migrations().back().version);
  CHECK(check_schema(*c));
}

TEST_CASE("migrating again is a no-op") {
  auto c = connect(TestCluster::get().fresh_database());
  REQUIRE(migrate(*c, kClock));
  const auto rows = count(*c, "SELECT count(*) FROM schema_migrations");
  auto again = migrate(*c, kClock);
  REQUIRE(again);
  CHECK(again->applied.empty());
  CHECK(again->from_version == again->to_version);
  CHECK(count(*c, "SELECT count(*) FROM schema_migrations") == rows);
}

TEST_CASE("two offices migrating at once: one applies, the other waits and finds nothing to do") {
  const auto info = TestCluster::get().fresh_database();
  auto holder = connect(info);
  // Hold the migration lock so both appliers are certainly waiting on it at the same time.
  REQUIRE(holder->exec("SELECT pg_advisory_lock($1::bigint)", {kMigrationLockKey}));
  Result<MigrationReport> a = fail(ErrorKind::Internal, "not run");
  Result<MigrationReport> b = fail(ErrorKind::Internal, "not run");
  std::thread ta([&] {
    auto c = pg::Connection::open(info);
    if (c) a = migrate(**c, kClock);
  });
  std::thread tb([&] {
    auto c = pg::Connection::open(info);
    if (c) b = migrate(**c, kClock);
  });
  // Wait (on the database, not the clock) until both are blocked on the advisory lock.
  std::int64_t waiting = 0;
  for (int i = 0; i < 100'000 && waiting < 2; ++i) {
    waiting = count(*holder, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
    if (waiting < 2) std::this_thread::yield();
  }
  CHECK(waiting == 2);
  REQUIRE(holder->exec("SELECT pg_advisory_unlock($1::bigint)", {kMigrationLockKey}));
  ta.join();
  tb.join();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->applied.size() + b->applied.size() == embedded_migrations().size());
  CHECK((a->applied.empty() || b->applied.empty()));
  CHECK(count(*holder, "SELECT count(*) FROM schema_migrations") ==
        static_cast<std::int64_t>(embedded_migrations().size()));
}

TEST_CASE("a failing migration applies nothing, not even the migrations before it") {
  auto c = connect(TestCluster::get().fresh_database());
  const Migration broken[] = {{1, "good", "CREATE TABLE first_table (id int);"},
                              {2, "bad", "CREATE TABLE second_table (id int); SELECT * FROM missing_table;"}};
  auto report = migrate(*c, kClock, broken);
  REQUIRE_FALSE(report);
  CHECK(report.error().message.find("schema migration 2 (bad) failed") != std::string::npos);
  CHECK(count(*c, "SELECT count(*) FROM pg_tables WHERE tablename IN ('first_table', 'second_table')") == 0);
  auto v = schema_version(*c);
  REQUIRE(v);
  CHECK(*v == 0);
}

TEST_CASE("a database newer than the binary, or migrated with other SQL, is refused") {
  auto c = connect(TestCluster::get().fresh_database());
  const Migration two[] = {{1, "a", "CREATE TABLE a (id int);"}, {2, "b", "CREATE TABLE b (id int);"}};
  REQUIRE(migrate(*c, kClock, two));
  const Migration one[] = {{1, "a", "CREATE TABLE a (id int);"}};
  auto older = migrate(*c, kClock, one);
  REQUIRE_FALSE(older);
  CHECK(older.error().kind == ErrorKind::FailedPrecondition);
  CHECK(older.error().message.find("newer than this till-office") != std::string::npos);
  CHECK_FALSE(check_schema(*c, one));

  const Migration edited[] = {{1, "a", "CREATE TABLE a (id bigint);"}, {2, "b", "CREATE TABLE b (id int);"}};
  auto other = migrate(*c, kClock, edited);
  REQUIRE_FALSE(other);
  CHECK(other.error().message.find("migrated by another build") != std::string::npos);
}

TEST_CASE("serving an unmigrated database is refused with the command to run") {
  auto c = connect(TestCluster::get().fresh_database());
  auto st = check_schema(*c);
  REQUIRE_FALSE(st);
  CHECK(st.error().kind == ErrorKind::FailedPrecondition);
  CHECK(st.error().message.find("till-office migrate") != std::string::npos);
}

TEST_CASE("the audit log is append-only: UPDATE, DELETE and TRUNCATE are refused") {
  auto c = connect(TestCluster::get().fresh_database());
  REQUIRE(migrate(*c, kClock));
  REQUIRE(c->exec("INSERT INTO audit_log (at, actor, action) VALUES (now(), 'test', 'did')"));
  for (const char* sql : {"UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log"}) {
    INFO(sql);
    auto r = c->exec(sql);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::FailedPrecondition);
    CHECK(r.error().message.find("append-only") != std::string::npos);
  }
  CHECK(count(*c, "SELECT count(*) FROM audit_log WHERE actor = 'test'") == 1);
}

TEST_CASE("the schema refuses malformed rows: account ids, currencies, a credential before enrolment") {
  auto c = connect(TestCluster::get().fresh_database());
  REQUIRE(migrate(*c, kClock));
  auto bad_account = c->exec(
      "INSERT INTO merchants (id, name, stripe_account, created_at) VALUES ('mer_0123456789abcdef', 'M', 'sk_test_x', now())");
  REQUIRE_FALSE(bad_account);
  CHECK(bad_account.error().kind == ErrorKind::InvalidArgument);
  REQUIRE(c->exec(
      "INSERT INTO merchants (id, name, stripe_account, created_at) VALUES ('mer_0123456789abcdef', 'M', 'acct_1', now())"));
  auto bad_currency = c->exec(
      "INSERT INTO stores (id, merchant_id, name, currency, created_at) VALUES "
      "('sto_0123456789abcdef', 'mer_0123456789abcdef', 'S', 'USD', now())");
  REQUIRE_FALSE(bad_currency);
  REQUIRE(c->exec(
      "INSERT INTO stores (id, merchant_id, name, currency, created_at) VALUES "
      "('sto_0123456789abcdef', 'mer_0123456789abcdef', 'S', 'usd', now())"));
  auto early = c->exec(
      "INSERT INTO registers (id, store_id, name, credential_hash, created_at) VALUES "
      "('reg_0123456789abcdef', 'sto_0123456789abcdef', 'R', decode(repeat('ab', 32), 'hex'), now())");
  REQUIRE_FALSE(early);
  CHECK(early.error().kind == ErrorKind::InvalidArgument);
}
