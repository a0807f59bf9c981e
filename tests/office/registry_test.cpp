// The registry on a real PostgreSQL 15 cluster: merchants, stores, register enrolment,
// credentials and revocation.

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "office_fixture.hpp"
#include "till/office/crypto.hpp"

using namespace till;
using namespace till::office;
using till::office::test::OfficeDb;

TEST_CASE("a merchant and a store are added, and a second merchant on the same account is refused") {
  OfficeDb db;
  auto store = db.add_store("A1");
  CHECK(store.currency == "usd");
  MerchantSpec again;
  again.name = "Copy";
  again.stripe_account = "acct_A1";
  auto dup = db.registry.add_merchant(again, "test");
  REQUIRE_FALSE(dup);
  CHECK(dup.error().kind == ErrorKind::FailedPrecondition);
  MerchantSpec bad = again;
  bad.stripe_account = "sk_test_123";
  CHECK(db.registry.add_merchant(bad, "test").error().kind == ErrorKind::InvalidArgument);
  StoreSpec orphan;
  orphan.merchant_id = "mer_ffffffffffffffff";
  orphan.name = "Nowhere";
  orphan.currency = "usd";
  CHECK(db.registry.add_store(orphan, "test").error().kind == ErrorKind::NotFound);
  CHECK(db.count("SELECT count(*) FROM audit_log WHERE action IN ('merchant.add', 'store.add')") == 2);
}

TEST_CASE("an enrolment code is shown once, stored only as a hash, and gives a credential once") {
  OfficeDb db;
  auto store = db.add_store();
  auto added = db.registry.add_register(store.id, "Front till", "test");
  REQUIRE(added);
  const std::string code = added->enrolment_code.reveal();
  CHECK(code.size() == 19);
  CHECK(normalize_enrolment_code(code).size() == 16);
  CHECK(added->expires_at == db.clock.now() + kEnrolmentCodeLifetime);
  CHECK(db.count("SELECT count(*) FROM registers WHERE enrol_code_hash = $1",
                 {pg::Param::bytes(to_bytes(sha256(normalize_enrolment_code(code))))}) == 1);

  // Typed in lowercase without dashes still works.
  std::string typed;
  for (char c : code) if (c != '-') typed.push_back(static_cast<char>(std::tolower(c)));
  auto enrolment = db.registry.enrol(typed, "counter-pc");
  REQUIRE(enrolment);
  CHECK(enrolment->register_id == added->register_id);
  CHECK(enrolment->store.id == store.id);
  CHECK(enrolment->store.currency == "usd");
  const std::string credential = enrolment->credential.reveal();
  CHECK(credential.starts_with("tillreg_"));
  CHECK(credential.size() == 8 + 64);
  // Only the hash is in the database.
  CHECK(db.count("SELECT count(*) FROM registers WHERE credential_hash = $1",
                 {pg::Param::bytes(to_bytes(sha256(credential)))}) == 1);
  CHECK(db.count("SELECT count(*) FROM audit_log WHERE detail::text LIKE '%' || $1 || '%'",
                 {credential.substr(8, 16)}) == 0);

  auto replay = db.registry.enrol(code, "thief");
  REQUIRE_FALSE(replay);
  CHECK(replay.error().kind == ErrorKind::FailedPrecondition);
  CHECK(db.count("SELECT count(*) FROM registers WHERE device_name = 'thief'") == 0);
  CHECK(db.count("SELECT count(*) FROM audit_log WHERE action = 'register.enrol'") == 1);
}

TEST_CASE("an enrolment code expires after 24 hours") {
  OfficeDb db;
  auto store = db.add_store();
  auto added = db.registry.add_register(store.id, "Till", "test");
  REQUIRE(added);
  db.clock.advance(std::chrono::hours(24));
  auto late = db.registry.enrol(added->enrolment_code.reveal(), "pc");
  REQUIRE_FALSE(late);
  CHECK(late.error().kind == ErrorKind::Unauthenticated);
  CHECK(late.error().message.find("expired") != std::string::npos);
  auto list = db.registry.list_registers(store.id);
  REQUIRE(list);
  REQUIRE(list->size() == 1);
  CHECK((*list)[0].state == "code_expired");
}

TEST_CASE("unknown and malformed codes are refused without touching a register") {
  OfficeDb db;
  auto store = db.add_store();
  REQUIRE(db.registry.add_register(store.id, "Till", "test"));
  for (const char* code : {"", "AAAA-AAAA-AAAA-AAAA", "not a code at all", "UUUU-UUUU-UUUU-UUUU"}) {
    INFO(code);
    auto r = db.registry.enrol(code, "pc");
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::Unauthenticated);
  }
  CHECK(db.count("SELECT count(*) FROM registers WHERE enrol_used_at IS NOT NULL") == 0);
}

TEST_CASE("two registers racing with one code: exactly one gets a credential") {
  OfficeDb db(8);
  auto store = db.add_store();
  auto added = db.registry.add_register(store.id, "Till", "test");
  REQUIRE(added);
  const std::string code = added->enrolment_code.reveal();
  std::atomic<int> won{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  // Registry's Random is not thread-safe: each racer has its own registry over the same pool.
  std::vector<std::unique_ptr<SeededRandom>> randoms;
  std::vector<std::unique_ptr<Registry>> registries;
  for (int i = 0; i < 6; ++i) {
    randoms.push_back(std::make_unique<SeededRandom>(100 + i));
    registries.push_back(std::make_unique<Registry>(db.pool, db.clock, *randoms.back()));
  }
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto r = registries[i]->enrol(code, "pc" + std::to_string(i));
      if (r) ++won;
      else if (r.error().kind == ErrorKind::FailedPrecondition) ++refused;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(won == 1);
  CHECK(refused == 5);
}

TEST_CASE("a credential authenticates its register until it is revoked, at once") {
  OfficeDb db;
  auto store = db.add_store();
  auto [identity, credential] = db.enrolled_register(store);
  CHECK(identity.store_id == store.id);
  CHECK(identity.currency == "usd");
  REQUIRE(db.registry.revoke_register(identity.register_id, "test"));
  auto after = db.registry.authenticate(credential);
  REQUIRE_FALSE(after);
  CHECK(after.error().kind == ErrorKind::Unauthenticated);
  CHECK(after.error().message.find("revoked") != std::string::npos);
  CHECK(db.registry.revoke_register(identity.register_id, "test"));  // twice is fine
  CHECK(db.count("SELECT count(*) FROM audit_log WHERE action = 'register.revoke'") == 1);
  CHECK(db.registry.revoke_register("reg_ffffffffffffffff", "test").error().kind == ErrorKind::NotFound);
  auto list = db.registry.list_registers();
  REQUIRE(list);
  CHECK((*list)[0].state == "revoked");
}

TEST_CASE("wrong and malformed credentials are Unauthenticated") {
  OfficeDb db;
  auto store = db.add_store();
  auto [identity, credential] = db.enrolled_register(store);
  std::string wrong = credential;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  for (const std::string& c : {wrong, std::string(), std::string("tillreg_"), credential + "0",
                               std::string("Bearer ") + credential, std::string("sk_test_123")}) {
    INFO(c.size());
    auto r = db.registry.authenticate(c);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::Unauthenticated);
  }
}

TEST_CASE("a register is marked seen when it authenticates, at most once a minute") {
  OfficeDb db;
  auto store = db.add_store();
  auto [identity, credential] = db.enrolled_register(store);
  db.clock.advance(std::chrono::minutes(5));
  REQUIRE(db.registry.authenticate(credential));
  auto list = db.registry.list_registers(store.id);
  REQUIRE(list);
  CHECK((*list)[0].last_seen_at == db.clock.now());
  db.clock.advance(std::chrono::seconds(10));
  REQUIRE(db.registry.authenticate(credential));
  list = db.registry.list_registers(store.id);
  CHECK((*list)[0].last_seen_at == db.clock.now() - std::chrono::seconds(10));
}

TEST_CASE("secret tags identify a secret without revealing it") {
  const auto tag = secret_tag("tillreg_abcdef");
  CHECK(tag.starts_with("sha256:"));
  CHECK(tag.size() == 15);
  CHECK(tag.find("abcdef") == std::string::npos);
  CHECK(tag == secret_tag("tillreg_abcdef"));
}
