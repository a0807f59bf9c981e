// The register's identity (store/identity.hpp): claimed once per database, read back by every
// later open, never silently changed; two databases never share a generated id.
#include "till/store/identity.hpp"

#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <vector>

#include "store_fixtures.hpp"
#include "till/base/random.hpp"
#include "till/store/store.hpp"

using namespace till;
using namespace till::store;
using namespace till::store::testing;

TEST_CASE("the first open generates a register id and the default name, and every later open reads the same") {
  TempDir dir;
  FakeClock clock;
  SystemRandom& random = SystemRandom::instance();
  RegisterIdentity first;
  {
    auto store = Store::open(dir.file("till.db"), clock);
    REQUIRE(store);
    auto none = read_register_identity(*store);
    REQUIRE_FALSE(none);
    CHECK(none.error().kind == ErrorKind::NotFound);
    auto id = claim_register_identity(*store, {}, random);
    REQUIRE(id);
    CHECK(std::regex_match(id->id, std::regex("reg_[0-9a-f]{16}")));
    CHECK(id->name == "Register 1");
    CHECK(id->created_at == clock.now());
    first = *id;
    auto audit = store->journal().audit();
    REQUIRE(audit);
    REQUIRE(audit->size() == 1);
    CHECK(audit->at(0).action == "register.identity_created");
    CHECK(audit->at(0).subject == first.id);
  }
  clock.advance(std::chrono::hours(24));
  {
    auto store = Store::open(dir.file("till.db"), clock);
    REQUIRE(store);
    auto again = claim_register_identity(*store, {}, random);
    REQUIRE(again);
    CHECK(*again == first);  // read, not generated again
    CHECK(store->journal().audit()->size() == 1);
  }
  OpenOptions ro;
  ro.mode = OpenMode::ReadOnly;
  auto reader = Store::open(dir.file("till.db"), clock, ro);
  REQUIRE(reader);
  auto read = read_register_identity(*reader);
  REQUIRE(read);
  CHECK(*read == first);
  auto refused = claim_register_identity(*reader, {}, random);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::FailedPrecondition);
}

TEST_CASE("two registers' databases never get the same generated id") {
  FakeClock clock;
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    TempDir dir;
    auto store = Store::open(dir.file("till.db"), clock);
    REQUIRE(store);
    auto id = claim_register_identity(*store, {}, SystemRandom::instance());
    REQUIRE(id);
    ids.insert(id->id);
  }
  CHECK(ids.size() == 20);
}

TEST_CASE("a configured id is stored on the first open and a different one later is refused, naming both") {
  TempDir dir;
  FakeClock clock;
  SeededRandom random(3);
  {
    auto store = Store::open(dir.file("till.db"), clock);
    REQUIRE(store);
    auto id = claim_register_identity(*store, {"front-1", "Front counter"}, random);
    REQUIRE(id);
    CHECK(id->id == "front-1");
    CHECK(id->name == "Front counter");
  }
  auto store = Store::open(dir.file("till.db"), clock);
  REQUIRE(store);
  auto other = claim_register_identity(*store, {"back-2", ""}, random);
  REQUIRE_FALSE(other);
  CHECK(other.error().kind == ErrorKind::FailedPrecondition);
  CHECK(other.error().message.find("front-1") != std::string::npos);
  CHECK(other.error().message.find("back-2") != std::string::npos);
  CHECK(read_register_identity(*store)->id == "front-1");  // unchanged
  CHECK(claim_register_identity(*store, {"front-1", ""}, random)->name == "Front counter");  // the same id is fine
}

TEST_CASE("a configured name renames the register and the rename is audited") {
  TempDir dir;
  FakeClock clock;
  SeededRandom random(4);
  auto store = Store::open(dir.file("till.db"), clock);
  REQUIRE(store);
  const auto first = claim_register_identity(*store, {}, random);
  REQUIRE(first);
  auto renamed = claim_register_identity(*store, {"", "Terrace"}, random);
  REQUIRE(renamed);
  CHECK(renamed->id == first->id);
  CHECK(renamed->name == "Terrace");
  CHECK(read_register_identity(*store)->name == "Terrace");
  auto audit = store->journal().audit();
  REQUIRE(audit);
  CHECK(audit->back().action == "register.renamed");
  CHECK(audit->back().detail == "Register 1 -> Terrace");
}

TEST_CASE("ids and names that would not survive metadata, file names or log lines are refused") {
  TempDir dir;
  FakeClock clock;
  SeededRandom random(5);
  auto store = Store::open(dir.file("till.db"), clock);
  REQUIRE(store);
  for (const std::string& bad : std::vector<std::string>{"reg 1", "reg/1", "reg\n1", std::string(65, 'r'), "r\xc3\xa9g"}) {
    INFO(bad);
    auto r = claim_register_identity(*store, {bad, ""}, random);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::InvalidArgument);
  }
  auto r = claim_register_identity(*store, {"", std::string("bad\tname")}, random);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::InvalidArgument);
  auto none = read_register_identity(*store);
  CHECK_FALSE(none);  // nothing was stored by a refused claim
  CHECK(validate_register_id("reg_0123abcd.A-z"));
  CHECK(validate_register_name("Caisse 2 (terrasse) – été"));
}
