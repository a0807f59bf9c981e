// Property tests of the API's request parsing: random bytes and mutated JSON never crash the
// handler, always get a JSON answer, and a body that is not a valid request is always a 400.
// (Run under ASan+UBSan like every test.)

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "office_fixture.hpp"
#include "till/office/api.hpp"
#include "till/office/ingest.hpp"

using namespace till;
using namespace till::office;
using till::office::test::OfficeDb;
using nlohmann::json;

namespace {

std::string random_bytes(SeededRandom& r, std::size_t max) {
  std::string s(r.uniform(max + 1), '\0');
  for (auto& c : s) c = static_cast<char>(r.uniform(256));
  return s;
}

// Random printable JSON-ish text: brackets, quotes, escapes, digits and keys the API knows.
std::string random_jsonish(SeededRandom& r, std::size_t max) {
  static const std::vector<std::string> atoms = {"{", "}", "[", "]", ",", ":", "\"", "\\", "\\u0000", "\\ud800",
                                                 "\"code\"", "\"name\"", "\"records\"", "\"kind\"", "\"sale\"",
                                                 "null", "true", "-1", "1e999", "0.5", "9999999999999999999999",
                                                 " ", "\xff", "\xc3\x28", "\"x\""};
  std::string s;
  const auto n = r.uniform(max + 1);
  for (std::size_t i = 0; i < n; ++i) s += atoms[r.uniform(atoms.size())];
  return s;
}

void check_answer(const ApiResponse& res) {
  auto j = json::parse(res.body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  if (res.status >= 400) {
    REQUIRE(j.contains("error"));
    REQUIRE(j["error"]["code"].is_string());
  }
}

}  // namespace

TEST_CASE("random bytes as an enrolment body always get a 400 and never enrol anything") {
  OfficeDb db;
  auto store = db.add_store();
  REQUIRE(db.registry.add_register(store.id, "Till", "test"));
  Api api(db.registry, nullptr);
  SeededRandom r(7);
  for (int i = 0; i < 3000; ++i) {
    ApiRequest req{"POST", "/register/v1/enrol", "", "application/json",
                   i % 2 ? random_bytes(r, 300) : random_jsonish(r, 60), "fuzz"};
    const auto res = api.handle(req);
    INFO(req.body);
    CHECK(res.status == 400);
    check_answer(res);
  }
  CHECK(db.count("SELECT count(*) FROM registers WHERE enrol_used_at IS NOT NULL") == 0);
}

TEST_CASE("mutated valid enrolment requests get 400 or 401, never a crash or a 5xx") {
  OfficeDb db;
  auto store = db.add_store();
  auto added = db.registry.add_register(store.id, "Till", "test");
  REQUIRE(added);
  Api api(db.registry, nullptr);
  const std::string valid = json{{"code", "ZZZZ-ZZZZ-ZZZZ-ZZZZ"}, {"name", "pc"}}.dump();
  SeededRandom r(11);
  for (int i = 0; i < 3000; ++i) {
    std::string body = valid;
    const auto edits = 1 + r.uniform(4);
    for (std::uint64_t e = 0; e < edits; ++e) {
      const auto pos = r.uniform(body.size() + 1);
      switch (r.uniform(3)) {
        case 0: body.insert(pos, 1, static_cast<char>(r.uniform(256))); break;
        case 1: if (pos < body.size()) body.erase(pos, 1); break;
        default: if (pos < body.size()) body[pos] = static_cast<char>(r.uniform(256)); break;
      }
    }
    const auto res = api.handle(ApiRequest{"POST", "/register/v1/enrol", "", "application/json", body, "fuzz"});
    INFO(body);
    CHECK((res.status == 400 || res.status == 401));
    check_answer(res);
  }
  CHECK(db.count("SELECT count(*) FROM registers WHERE enrol_used_at IS NOT NULL") == 0);
}

TEST_CASE("random methods, paths and headers never crash the router") {
  OfficeDb db;
  Api api(db.registry, nullptr);
  SeededRandom r(13);
  const std::vector<std::string> methods = {"GET", "POST", "PUT", "DELETE", "", "get", "\x01"};
  const std::vector<std::string> paths = {"/register/v1/whoami", "/register/v1/stores/", "/register/v1/sync",
                                          "/register/v1/enrol", "/", "", "/healthz?x", "/register/v1/stores/sto_x/y"};
  for (int i = 0; i < 2000; ++i) {
    ApiRequest req;
    req.method = methods[r.uniform(methods.size())];
    req.target = paths[r.uniform(paths.size())] + random_bytes(r, 8);
    req.authorization = r.uniform(2) ? "Bearer " + random_bytes(r, 80) : random_bytes(r, 20);
    req.content_type = r.uniform(2) ? "application/json" : random_bytes(r, 10);
    req.body = random_jsonish(r, 20);
    const auto res = api.handle(req);
    CHECK(res.status >= 200);
    CHECK(res.status < 500);
    check_answer(res);
  }
}

TEST_CASE("random bytes and mutated batches as an authenticated sync body get a 400 or per-record verdicts") {
  OfficeDb db;
  auto store = db.add_store();
  auto [who, credential] = db.enrolled_register(store);
  Ingest ingest(db.pool, db.clock);
  Api api(db.registry, &ingest);
  SeededRandom r(17);
  for (int i = 0; i < 1500; ++i) {
    ApiRequest req{"POST", "/register/v1/sync", "Bearer " + credential, "application/json",
                   i % 2 ? random_bytes(r, 300) : random_jsonish(r, 60), "fuzz"};
    const auto res = api.handle(req);
    INFO(req.body);
    CHECK(res.status == 400);
    check_answer(res);
  }
  const std::string valid =
      json{{"register_id", who.register_id},
           {"store_id", who.store_id},
           {"records", json::array({json{{"kind", "sale"}, {"id", "s-1"}, {"created_at_ms", 1'790'000'000'000},
                                         {"currency", "usd"}, {"subtotal", 100}, {"discount_total", 0},
                                         {"tax_total", 0}, {"tip", 0}, {"total", 100}, {"lines", json::array()}}})}}
          .dump();
  int stored = 0;
  for (int i = 0; i < 1500; ++i) {
    std::string body = valid;
    const auto pos = r.uniform(body.size());
    body[pos] = static_cast<char>(r.uniform(256));
    const auto res = api.handle(ApiRequest{"POST", "/register/v1/sync", "Bearer " + credential, "application/json",
                                           body, "fuzz"});
    INFO(body);
    CHECK((res.status == 400 || res.status == 200 || res.status == 403));
    check_answer(res);
    if (res.status == 200) stored += json::parse(res.body)["stored"].get<int>();
  }
  // Exactly what the office said it stored is in the database, each id once.
  CHECK(db.count("SELECT count(*) FROM sales") == stored);
}

TEST_CASE("json_depth counts nesting outside strings only") {
  CHECK(json_depth("{}") == 1);
  CHECK(json_depth("[[[]]]") == 3);
  CHECK(json_depth("{\"a\":\"[[[[\"}") == 1);
  CHECK(json_depth("{\"a\":\"\\\"[[\"}") == 1);
  CHECK(json_depth("") == 0);
}
