// Disk faults at every step: the n-th write, truncate or sync fails (and every one after it),
// for every n a commit or a database creation makes. Whatever fails, the call returns an error
// value telling the caller to retry or free space, never crashes, and nothing committed is lost:
// the database reopens, passes integrity_check, and every sale is either complete or absent.
#include <catch2/catch.hpp>

#include "fault_vfs.hpp"
#include "store_fixtures.hpp"
#include "till/store/schema.hpp"
#include "till/store/store.hpp"

using namespace till;
using namespace till::store;
using namespace till::store::testing;

namespace {

const char* fault_name(Fault f) { return f == Fault::DiskFull ? "disk full" : "I/O error"; }

bool is_retry_kind(ErrorKind k) { return k == ErrorKind::Unavailable || k == ErrorKind::ResourceExhausted; }

OpenOptions faulty() {
  OpenOptions o;
  o.vfs = kFaultVfsName;
  return o;
}

Store open_or_fail(const std::string& path, const Clock& clock, OpenOptions o = {}) {
  auto s = Store::open(path, clock, std::move(o));
  if (!s) FAIL(s.error().describe());
  return std::move(*s);
}

void check_early_sales(Store& store) {
  for (int i = 0; i < 3; ++i) {
    const auto id = "early-" + std::to_string(i);
    auto s = store.sales().get(id);
    REQUIRE(s);
    CHECK(s->lines == make_sale(id, 5, i).lines);
  }
}

}  // namespace

TEST_CASE("a disk failing at any write or sync of a sale commit loses nothing committed") {
  REQUIRE(register_fault_vfs());
  FakeClock clock;
  int calls = 0;
  {
    TempDir dir;
    auto store = open_or_fail(dir.file("till.db"), clock, faulty());
    REQUIRE(store.sales().persist(make_sale("warm-up")));
    fault_vfs_disarm();
    REQUIRE(store.sales().persist(make_sale("probe")));
    calls = fault_vfs_calls();
  }
  REQUIRE(calls >= 2);  // at least the WAL frames and the sync
  for (Fault fault : {Fault::IoError, Fault::DiskFull}) {
    for (int n = 1; n <= calls; ++n) {
      INFO(fault_name(fault) << " at call " << n << " of " << calls);
      TempDir dir;
      const auto path = dir.file("till.db");
      const auto target = make_sale("target", 5, 7);
      {
        auto store = open_or_fail(path, clock, faulty());
        for (int i = 0; i < 3; ++i)
          REQUIRE(store.sales().persist(make_sale("early-" + std::to_string(i), 5, i)));
        fault_vfs_arm(n, fault);
        auto r = store.sales().persist(target);
        const bool fired = fault_vfs_fired();
        fault_vfs_disarm();
        REQUIRE(fired);
        REQUIRE_FALSE(r);
        CHECK(is_retry_kind(r.error().kind));
        if (fault == Fault::DiskFull && r.error().kind == ErrorKind::ResourceExhausted) {
          CHECK(r.error().message.find("disk is full") != std::string::npos);
        }
        // With the disk back, retrying the same call on the same Store succeeds.
        auto retry = store.sales().persist(target);
        if (!retry) FAIL("retry after the fault: " << retry.error().describe());
        check_early_sales(store);
      }
      auto store = open_or_fail(path, clock, {.integrity_check = IntegrityCheck::Full});
      check_early_sales(store);
      auto got = store.sales().get("target");
      REQUIRE(got);
      CHECK(got->lines == target.lines);
      CHECK(got->total == target.total);
    }
  }
}

TEST_CASE("a disk failing at any write or sync while a database is created leaves a usable schema") {
  REQUIRE(register_fault_vfs());
  FakeClock clock;
  int calls = 0;
  {
    TempDir dir;
    fault_vfs_disarm();
    REQUIRE(Store::open(dir.file("till.db"), clock, faulty()));
    calls = fault_vfs_calls();
  }
  REQUIRE(calls >= current_schema_version());
  for (Fault fault : {Fault::IoError, Fault::DiskFull}) {
    for (int n = 1; n <= calls; ++n) {
      INFO(fault_name(fault) << " at call " << n << " of " << calls);
      TempDir dir;
      const auto path = dir.file("till.db");
      fault_vfs_arm(n, fault);
      {
        auto store = Store::open(path, clock, faulty());
        if (!store) CHECK(is_retry_kind(store.error().kind));
      }  // closing checkpoints the WAL: those writes are counted and failed too
      const bool fired = fault_vfs_fired();
      fault_vfs_disarm();
      REQUIRE(fired);
      // Whatever the fault interrupted, the next open finishes the migrations.
      auto store = open_or_fail(path, clock, {.integrity_check = IntegrityCheck::Full});
      CHECK(store.schema_version() == current_schema_version());
      REQUIRE(store.sales().persist(make_sale("after")));
      CHECK(store.sales().get("after"));
    }
  }
}
