#pragma once
// A migrated fresh database in the binary's test cluster, a pool on it, and a registry with a
// fake clock and seeded randomness. Header-only; every office test after the schema uses it.

#include <catch2/catch.hpp>

#include "pg_cluster.hpp"
#include "till/office/migrations.hpp"
#include "till/office/registry.hpp"

namespace till::office::test {

struct OfficeDb {
  OfficeDb(std::size_t pool_size = 4)
      : conninfo(TestCluster::get().fresh_database()),
        pool(pg::PoolConfig{conninfo, pool_size, std::chrono::milliseconds(10'000), "office-test"}),
        random(42),
        registry(pool, clock, random) {
    auto c = pg::Connection::open(conninfo);
    REQUIRE(c);
    REQUIRE(migrate(**c, clock));
  }

  std::int64_t count(const std::string& sql, const pg::Params& params = {}) {
    auto c = pool.acquire();
    REQUIRE(c);
    auto r = (*c)->exec(sql, params);
    REQUIRE(r);
    return (*r)[0].i64(0);
  }

  // A merchant on acct_<suffix> with one store.
  Store add_store(const std::string& suffix = "1", const std::string& currency = "usd") {
    MerchantSpec m;
    m.name = "Merchant " + suffix;
    m.stripe_account = "acct_" + suffix;
    m.fee_fixed = 30;
    m.fee_bps = 290;
    auto merchant = registry.add_merchant(m, "test");
    REQUIRE(merchant);
    StoreSpec s;
    s.merchant_id = merchant->id;
    s.name = "Store " + suffix;
    s.currency = currency;
    auto store = registry.add_store(s, "test");
    REQUIRE(store);
    return *store;
  }

  // An enrolled register of `store`: {identity, credential}.
  std::pair<RegisterIdentity, std::string> enrolled_register(const Store& store, const std::string& name = "Till 1") {
    auto added = registry.add_register(store.id, name, "test");
    REQUIRE(added);
    auto enrolment = registry.enrol(added->enrolment_code.reveal(), name);
    REQUIRE(enrolment);
    auto identity = registry.authenticate(enrolment->credential.reveal());
    REQUIRE(identity);
    return {*identity, enrolment->credential.reveal()};
  }

  std::string conninfo;
  FakeClock clock;
  pg::Pool pool;
  SeededRandom random;
  Registry registry;
};

}  // namespace till::office::test
