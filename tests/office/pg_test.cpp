// office/pg, the libpq wrapper, against a real PostgreSQL 15 cluster.

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "pg_cluster.hpp"
#include "till/office/pg.hpp"

using namespace till;
using namespace till::office;
using till::office::test::TestCluster;

namespace {

std::unique_ptr<pg::Connection> connect(const std::string& conninfo) {
  auto c = pg::Connection::open(conninfo);
  REQUIRE(c);
  return std::move(*c);
}

std::unique_ptr<pg::Connection> fresh() { return connect(TestCluster::get().fresh_database()); }

}  // namespace

TEST_CASE("parameters round-trip as text, integers, booleans, bytes, times and NULL") {
  auto c = fresh();
  const std::vector<std::uint8_t> blob{0x00, 0x01, 0xfe, 0xff, 0x27, 0x5c};
  const Timestamp t = from_unix_ms(1'790'000'123'456);
  auto r = c->exec("SELECT $1::text, $2::bigint, $3::boolean, $4::bytea, $5::timestamptz, $6::text",
                   {std::string("it's \"quoted\"; DROP TABLE x"), std::int64_t{-9'000'000'000}, true,
                    pg::Param::bytes(blob), pg::Param::time(t), pg::Param()});
  REQUIRE(r);
  REQUIRE(r->size() == 1);
  auto row = (*r)[0];
  CHECK(row.text(0) == "it's \"quoted\"; DROP TABLE x");
  CHECK(row.i64(1) == -9'000'000'000);
  CHECK(row.boolean(2));
  CHECK(row.bytes(3) == blob);
  CHECK(row.time(4) == t);
  CHECK(row.is_null(5));
  CHECK_FALSE(row.optional_text(5).has_value());
  CHECK(r->column("text") == 0);
}

TEST_CASE("timestamps format and parse in PostgreSQL's UTC form") {
  const Timestamp t = from_unix_ms(1'790'000'123'456);
  CHECK(pg::format_timestamp(t) == "2026-09-21 14:15:23.456+00");
  CHECK(pg::parse_timestamp("2026-09-21 14:15:23.456+00") == t);
  CHECK(pg::parse_timestamp("2026-09-21 14:15:23+00") == from_unix_ms(1'790'000'123'000));
  CHECK(pg::parse_timestamp("2026-09-21 14:15:23.456789+00") == t);
  CHECK_FALSE(pg::parse_timestamp("2026-02-30 00:00:00+00").has_value());
  CHECK_FALSE(pg::parse_timestamp("2026-09-21 14:15:23+02").has_value());
  CHECK_FALSE(pg::parse_timestamp("garbage").has_value());
}

TEST_CASE("a unique violation is FailedPrecondition and names its constraint") {
  auto c = fresh();
  REQUIRE(c->exec_script("CREATE TABLE t (id text PRIMARY KEY, n int CHECK (n > 0))"));
  REQUIRE(c->exec("INSERT INTO t VALUES ($1, 1)", {"a"}));
  auto dup = c->exec("INSERT INTO t VALUES ($1, 2)", {"a"});
  REQUIRE_FALSE(dup);
  CHECK(dup.error().kind == ErrorKind::FailedPrecondition);
  CHECK(pg::sqlstate(dup.error()) == "23505");
  CHECK(dup.error().message.find("t_pkey") != std::string::npos);
  CHECK_FALSE(pg::is_retryable_conflict(dup.error()));

  auto check = c->exec("INSERT INTO t VALUES ($1, 0)", {"b"});
  REQUIRE_FALSE(check);
  CHECK(check.error().kind == ErrorKind::InvalidArgument);
  CHECK(pg::sqlstate(check.error()) == "23514");

  auto bug = c->exec("SELECT * FROM no_such_table");
  REQUIRE_FALSE(bug);
  CHECK(bug.error().kind == ErrorKind::Internal);
  CHECK(pg::sqlstate(bug.error()) == "42P01");
}

TEST_CASE("an error message never carries the parameter values of the failed row") {
  auto c = fresh();
  REQUIRE(c->exec_script("CREATE TABLE t (secret text UNIQUE)"));
  REQUIRE(c->exec("INSERT INTO t VALUES ($1)", {"tillreg_do_not_log_me"}));
  auto dup = c->exec("INSERT INTO t VALUES ($1)", {"tillreg_do_not_log_me"});
  REQUIRE_FALSE(dup);
  CHECK(dup.error().message.find("do_not_log_me") == std::string::npos);
}

TEST_CASE("a transaction commits, and one dropped without commit rolls back") {
  auto c = fresh();
  REQUIRE(c->exec_script("CREATE TABLE t (id int)"));
  {
    auto tx = pg::Transaction::begin(*c);
    REQUIRE(tx);
    REQUIRE(tx->exec("INSERT INTO t VALUES (1)"));
    REQUIRE(tx->commit());
  }
  {
    auto tx = pg::Transaction::begin(*c);
    REQUIRE(tx);
    REQUIRE(tx->exec("INSERT INTO t VALUES (2)"));
    CHECK(c->in_transaction());
  }
  CHECK_FALSE(c->in_transaction());
  auto r = c->exec("SELECT count(*), max(id) FROM t");
  REQUIRE(r);
  CHECK((*r)[0].i64(0) == 1);
  CHECK((*r)[0].i64(1) == 1);
}

TEST_CASE("a second transaction on one connection is refused") {
  auto c = fresh();
  auto tx = pg::Transaction::begin(*c);
  REQUIRE(tx);
  auto again = pg::Transaction::begin(*c);
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::FailedPrecondition);
}

TEST_CASE("committing a transaction whose statement failed reports the failure, not success") {
  auto c = fresh();
  REQUIRE(c->exec_script("CREATE TABLE t (id int PRIMARY KEY)"));
  auto tx = pg::Transaction::begin(*c);
  REQUIRE(tx);
  REQUIRE(tx->exec("INSERT INTO t VALUES (1)"));
  REQUIRE_FALSE(tx->exec("INSERT INTO t VALUES (1)"));
  auto committed = tx->commit();
  REQUIRE_FALSE(committed);
  auto r = c->exec("SELECT count(*) FROM t");
  REQUIRE(r);
  CHECK((*r)[0].i64(0) == 0);
}

TEST_CASE("with_transaction retries a serialization failure until it commits") {
  const auto info = TestCluster::get().fresh_database();
  auto a = connect(info);
  auto b = connect(info);
  REQUIRE(a->exec_script("CREATE TABLE counter (n int); INSERT INTO counter VALUES (0);"));

  // b reads inside a SERIALIZABLE transaction, a commits an update in between, b then writes:
  // b's first attempt must fail with 40001 and the second must succeed.
  int runs = 0;
  auto result = pg::with_transaction(*b, pg::Isolation::Serializable, [&](pg::Transaction& tx) -> Result<std::int64_t> {
    ++runs;
    auto read = tx.exec("SELECT n FROM counter");
    if (!read) return fail(read.error());
    if (runs == 1) {
      auto other = a->exec("UPDATE counter SET n = n + 10");
      if (!other) return fail(other.error());
    }
    auto write = tx.exec("UPDATE counter SET n = $1", {(*read)[0].i64(0) + 1});
    if (!write) return fail(write.error());
    return (*read)[0].i64(0) + 1;
  });
  REQUIRE(result);
  CHECK(runs == 2);
  CHECK(*result == 11);
  auto r = a->exec("SELECT n FROM counter");
  REQUIRE(r);
  CHECK((*r)[0].i64(0) == 11);
}

TEST_CASE("FOR UPDATE SKIP LOCKED hands each row to one claimer only") {
  const auto info = TestCluster::get().fresh_database();
  auto a = connect(info);
  auto b = connect(info);
  REQUIRE(a->exec_script("CREATE TABLE jobs (id int PRIMARY KEY); INSERT INTO jobs SELECT generate_series(1, 3);"));
  auto ta = pg::Transaction::begin(*a);
  REQUIRE(ta);
  auto ra = ta->exec("SELECT id FROM jobs ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED");
  REQUIRE(ra);
  REQUIRE(ra->size() == 2);
  auto tb = pg::Transaction::begin(*b);
  REQUIRE(tb);
  auto rb = tb->exec("SELECT id FROM jobs ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED");
  REQUIRE(rb);
  REQUIRE(rb->size() == 1);
  CHECK((*rb)[0].i64(0) == 3);
}

TEST_CASE("a connection the server dropped reports Unavailable and the pool replaces it") {
  const auto info = TestCluster::get().fresh_database();
  pg::Pool pool(pg::PoolConfig{info, 2, std::chrono::milliseconds(2000), "pool-test"});
  int first_pid = 0;
  {
    auto lease = pool.acquire();
    REQUIRE(lease);
    first_pid = (*lease)->backend_pid();
    auto killer = connect(info);
    REQUIRE(killer->exec("SELECT pg_terminate_backend($1::int)", {first_pid}));
    auto r = (*lease)->exec("SELECT 1");
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::Unavailable);
    CHECK_FALSE((*lease)->healthy());
  }
  auto lease = pool.acquire();
  REQUIRE(lease);
  CHECK((*lease)->backend_pid() != first_pid);
  CHECK((*lease)->exec("SELECT 1"));
}

TEST_CASE("a COMMIT whose connection drops is OutcomeUnknown, never a plain failure") {
  const auto info = TestCluster::get().fresh_database();
  auto c = connect(info);
  REQUIRE(c->exec_script("CREATE TABLE t (id int)"));
  auto killer = connect(info);
  auto tx = pg::Transaction::begin(*c);
  REQUIRE(tx);
  REQUIRE(tx->exec("INSERT INTO t VALUES (1)"));
  REQUIRE(killer->exec("SELECT pg_terminate_backend($1::int)", {c->backend_pid()}));
  auto committed = tx->commit();
  REQUIRE_FALSE(committed);
  CHECK(committed.error().kind == ErrorKind::OutcomeUnknown);
}

TEST_CASE("the pool never hands out more connections than its size and times out politely") {
  const auto info = TestCluster::get().fresh_database();
  pg::Pool pool(pg::PoolConfig{info, 2, std::chrono::milliseconds(50), "pool-test"});
  auto a = pool.acquire();
  auto b = pool.acquire();
  REQUIRE(a);
  REQUIRE(b);
  auto c = pool.acquire();
  REQUIRE_FALSE(c);
  CHECK(c.error().kind == ErrorKind::ResourceExhausted);
  CHECK(pool.open_connections() == 2);
}

TEST_CASE("the pool serves many threads at once, each lease on its own connection") {
  const auto info = TestCluster::get().fresh_database();
  {
    auto setup = connect(info);
    REQUIRE(setup->exec_script("CREATE TABLE hits (pid int, n int)"));
  }
  pg::Pool pool(pg::PoolConfig{info, 3, std::chrono::milliseconds(10'000), "pool-test"});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto lease = pool.acquire();
        if (!lease || !(*lease)->exec("INSERT INTO hits VALUES (pg_backend_pid(), $1)", {t * 100 + i})) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  auto c = connect(info);
  auto r = c->exec("SELECT count(*), count(DISTINCT pid) FROM hits");
  REQUIRE(r);
  CHECK((*r)[0].i64(0) == 120);
  CHECK((*r)[0].i64(1) <= 3);
  CHECK(pool.open_connections() <= 3);
}

TEST_CASE("an unreachable server is Unavailable") {
  auto c = pg::Connection::open("host=/nonexistent-till-dir port=1 user=till dbname=x");
  REQUIRE_FALSE(c);
  CHECK(c.error().kind == ErrorKind::Unavailable);
}
