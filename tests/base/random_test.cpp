#include "till/base/random.hpp"

#include <catch2/catch.hpp>
#include <set>

#include "till/base/clock.hpp"

using namespace till;

TEST_CASE("UUIDv4 has the RFC 4122 shape, version and variant") {
  SeededRandom r(42);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string u = new_uuid_v4(r);
    REQUIRE(u.size() == 36);
    REQUIRE(u[8] == '-');
    REQUIRE(u[13] == '-');
    REQUIRE(u[14] == '4');
    REQUIRE(std::string("89ab").find(u[19]) != std::string::npos);
    seen.insert(u);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("a seeded generator is reproducible and system randomness differs per call") {
  SeededRandom a(7), b(7);
  CHECK(a.next_u64() == b.next_u64());
  CHECK(new_uuid_v4(SystemRandom::instance()) != new_uuid_v4(SystemRandom::instance()));
}

TEST_CASE("uniform stays below its bound and unit stays in [0,1)") {
  SeededRandom r(1);
  for (int i = 0; i < 10000; ++i) {
    REQUIRE(r.uniform(7) < 7);
    const double u = r.unit();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
  }
}

TEST_CASE("a fake clock moves only when told") {
  FakeClock c(from_unix_ms(1000));
  CHECK(to_unix_ms(c.now()) == 1000);
  c.advance(std::chrono::seconds(2));
  CHECK(to_unix_ms(c.now()) == 3000);
}
