// The state folder (SimConfig::state_dir): the books survive a restart, ids never repeat across
// restarts (nor between two runs with the same --seed), and a damaged or shared folder is
// refused rather than guessed at.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <stdlib.h>

#include "sim_fixture.hpp"

using namespace till;
using namespace till::stripesim;
using namespace till::stripesim::testing;
using nlohmann::json;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "till-stripesim-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name = {}) const { return name.empty() ? path_.string() : (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<Sim> start(const std::string& dir, std::optional<std::uint64_t> id_seed = std::nullopt,
                           std::uint64_t seed = 1) {
  return std::make_unique<Sim>([&](ServerOptions& o) {
    o.sim.state_dir = dir;
    o.sim.id_seed = id_seed;
    o.sim.seed = seed;
  });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every object id the books show through the API: PaymentIntents, charges, refunds, events,
// locations and readers.
std::set<std::string> all_ids(Sim& sim) {
  std::set<std::string> ids;
  auto collect = [&](const std::string& path, const char* field = "id") {
    std::string after;
    while (true) {
      auto page = sim.get(path + (path.find('?') == std::string::npos ? "?" : "&") + "limit=100" +
                          (after.empty() ? "" : "&starting_after=" + after));
      REQUIRE(page.status == 200);
      for (const auto& o : page.json["data"]) {
        ids.insert(o[field].get<std::string>());
        after = o["id"];
      }
      if (!page.json["has_more"].get<bool>()) break;
    }
  };
  collect("/v1/payment_intents");
  collect("/v1/refunds");
  collect("/v1/events");
  collect("/v1/terminal/locations");
  collect("/v1/terminal/readers");
  collect("/v1/payment_intents", "latest_charge");
  ids.erase("");
  return ids;
}

// A day's business: a location and reader, paid, manual and refunded PaymentIntents.
void business(Sim& sim, int n) {
  auto loc = sim.post("/v1/terminal/locations", "display_name=Shop&address[country]=US");
  REQUIRE(loc.status == 200);
  REQUIRE(sim.post("/v1/terminal/readers", "registration_code=simulated-wpe&location=" + loc.json["id"].get<std::string>())
              .status == 200);
  for (int i = 0; i < n; ++i) {
    auto pi = sim.pay(1000 + i * 100);
    REQUIRE(pi["status"] == "succeeded");
    REQUIRE(sim.post("/v1/refunds", "payment_intent=" + pi["id"].get<std::string>() + "&amount=100").status == 200);
  }
}

}  // namespace

TEST_CASE("a PaymentIntent created before a restart is retrieved, captured and refunded after it") {
  TempDir dir;
  std::string paid, held, key_answer;
  {
    auto sim = start(dir.path());
    paid = sim->pay(2500, "&metadata[sale_id]=s-1", "pm_card_visa", "sale-s-1")["id"];
    auto manual = sim->post("/v1/payment_intents",
                            "amount=4000&currency=usd&capture_method=manual&payment_method=pm_card_visa&confirm=true");
    REQUIRE(manual.status == 200);
    REQUIRE(manual.json["status"] == "requires_capture");
    held = manual.json["id"];
  }
  auto sim = start(dir.path());
  auto got = sim->get("/v1/payment_intents/" + paid + "?expand[0]=latest_charge");
  REQUIRE(got.status == 200);
  CHECK(got.json["status"] == "succeeded");
  CHECK(got.json["metadata"]["sale_id"] == "s-1");
  CHECK(got.json["latest_charge"]["amount_captured"] == 2500);
  // The key of the first create still answers with the first PaymentIntent (no second charge).
  auto again = sim->post("/v1/payment_intents",
                         "amount=2500&currency=usd&allowed_payment_method_types[0]=card_present"
                         "&payment_method=pm_card_visa&confirm=true&metadata[sale_id]=s-1",
                         "sale-s-1");
  REQUIRE(again.status == 200);
  CHECK(again.header("idempotent-replayed") == "true");
  CHECK(again.json["id"] == paid);
  auto search = sim->get("/v1/payment_intents/search?query=metadata%5B%27sale_id%27%5D%3A%27s-1%27");
  REQUIRE(search.json["data"].size() == 1);

  auto refund = sim->post("/v1/refunds", "payment_intent=" + paid + "&amount=500");
  REQUIRE(refund.status == 200);
  auto captured = sim->post("/v1/payment_intents/" + held + "/capture", "amount_to_capture=3000");
  REQUIRE(captured.status == 200);
  CHECK(captured.json["amount_received"] == 3000);
  // The events of the first run are still listed, newest first after the new ones.
  auto events = sim->get("/v1/events?type=payment_intent.created&limit=100");
  CHECK(events.json["data"].size() == 2);

  sim.reset();
  sim = start(dir.path());  // and once more: what the second run did is there too
  auto ledger = sim->server->ledger();
  REQUIRE(ledger.size() == 2);
  CHECK(ledger[0].id == paid);  // creation order survives
  CHECK(ledger[0].amount_refunded == 500);
  CHECK(ledger[1].status == "succeeded");
  CHECK(ledger[1].amount_received == 3000);
  CHECK(sim->get("/v1/refunds/" + refund.json["id"].get<std::string>()).status == 200);
  // Over-refunding is still refused: the charge's refunded amount came back too.
  CHECK(sim->post("/v1/refunds", "payment_intent=" + paid + "&amount=2001").json["error"]["code"] == "amount_too_large");
}

TEST_CASE("ids handed out after a restart never equal an id from before it") {
  SECTION("ids from the kernel's random source") {
    TempDir dir;
    std::set<std::string> before;
    {
      auto sim = start(dir.path());
      business(*sim, 5);
      before = all_ids(*sim);
    }
    auto sim = start(dir.path());
    business(*sim, 5);
    const std::set<std::string> after = all_ids(*sim);
    CHECK(before.size() > 20);
    CHECK(after.size() == 2 * before.size());  // nothing collided, nothing was lost
  }
  SECTION("fixed ids (id_seed): the same generator again, and still no repeat") {
    TempDir dir;
    std::set<std::string> before;
    {
      auto sim = start(dir.path(), 42);
      business(*sim, 5);
      before = all_ids(*sim);
    }
    auto sim = start(dir.path(), 42);  // draws exactly the ids of the first run first
    business(*sim, 5);
    const std::set<std::string> after = all_ids(*sim);
    CHECK(after.size() == 2 * before.size());
  }
}

TEST_CASE("without a state folder two runs with the same seed still hand out different ids") {
  auto run = [] {
    Sim sim([](ServerOptions& o) { o.sim.seed = 7; });
    return sim.pay(1500)["id"].get<std::string>();
  };
  const std::string a = run();
  const std::string b = run();
  CHECK(a.rfind("pi_", 0) == 0);
  CHECK(a != b);
  // A test that wants the same ids every run says so.
  auto fixed = [] {
    Sim sim([](ServerOptions& o) { o.sim.id_seed = 3; });
    return sim.pay(1500)["id"].get<std::string>();
  };
  CHECK(fixed() == fixed());
}

TEST_CASE("readers, locations, the simulated clock and reader faults survive a restart") {
  TempDir dir;
  std::string reader;
  std::int64_t now = 0;
  {
    auto sim = start(dir.path());
    auto loc = sim->post("/v1/terminal/locations", "display_name=Shop&address[country]=CA");
    reader = sim->post("/v1/terminal/readers", "registration_code=simulated-wpe&label=Front&location=" +
                                                   loc.json["id"].get<std::string>())
                 .json["id"];
    REQUIRE(sim->http->request("POST", "/_sim/readers/" + reader, {}, "status=offline").status == 200);
    now = sim->http->request("POST", "/_sim/clock", {}, "advance_seconds=86400").json["now"];
  }
  auto sim = start(dir.path());
  auto r = sim->get("/v1/terminal/readers/" + reader);
  REQUIRE(r.status == 200);
  CHECK(r.json["label"] == "Front");
  CHECK(r.json["status"] == "offline");
  CHECK(sim->http->request("POST", "/_sim/clock", {}, "").json["now"] == now);
}

TEST_CASE("the journal holds no API key and compacts to one line per object at start") {
  TempDir dir;
  std::string id;
  {
    auto sim = start(dir.path());
    id = sim->pay(1200, "", "pm_card_visa", "k-1")["id"];
    REQUIRE(sim->post("/v1/payment_intents/" + id, "description=first").status == 200);
    REQUIRE(sim->post("/v1/payment_intents/" + id, "description=second").status == 200);
  }
  const std::string journal = read_file(dir.path("journal.jsonl"));
  CHECK(journal.find(kKey) == std::string::npos);
  auto count = [&](const std::string& text) {  // PaymentIntent rows of this id
    std::size_t n = 0;
    std::istringstream lines(text);
    for (std::string l; std::getline(lines, l);) {
      if (l.rfind(R"({"k":"pi")", 0) == 0 && l.find(id) != std::string::npos) ++n;
    }
    return n;
  };
  CHECK(count(journal) >= 3);  // appended at each change
  { auto sim = start(dir.path()); }
  const std::string compacted = read_file(dir.path("journal.jsonl"));
  CHECK(count(compacted) == 1);
  CHECK(compacted.find(kKey) == std::string::npos);
  auto sim = start(dir.path());
  CHECK(sim->get("/v1/payment_intents/" + id).json["description"] == "second");
}

TEST_CASE("a torn last line is dropped, a damaged line or a folder in use is refused") {
  TempDir dir;
  std::string id;
  {
    auto sim = start(dir.path());
    id = sim->pay(1300)["id"];
  }
  {
    std::ofstream out(dir.path("journal.jsonl"), std::ios::app | std::ios::binary);
    out << R"({"k":"pi","v":{"id":"pi_torn)";  // a crash in the middle of an append
  }
  {
    auto sim = start(dir.path());
    CHECK(sim->get("/v1/payment_intents/" + id).status == 200);
    // Another simulator on the same folder is refused while this one runs.
    ServerOptions o;
    o.sim.state_dir = dir.path();
    auto twin = Server::start(o);
    REQUIRE_FALSE(twin);
    CHECK(twin.error().kind == ErrorKind::FailedPrecondition);
    CHECK(twin.error().message.find("in use") != std::string::npos);
  }
  {
    std::string text = read_file(dir.path("journal.jsonl"));
    text.insert(text.find('\n') + 1, "{not json}\n");
    std::ofstream(dir.path("journal.jsonl"), std::ios::trunc | std::ios::binary) << text;
  }
  ServerOptions o;
  o.sim.state_dir = dir.path();
  auto damaged = Server::start(o);
  REQUIRE_FALSE(damaged);
  CHECK(damaged.error().kind == ErrorKind::DataLoss);
  CHECK(damaged.error().message.find("line 2") != std::string::npos);
  // The Api without the server says the same, and answers API requests 503 meanwhile.
  SimConfig c;
  c.state_dir = dir.path();
  Api api(c);
  CHECK_FALSE(api.state_status());
  Request get;
  get.method = "GET";
  get.target = "/v1/payment_intents";
  get.headers = {{"Authorization", std::string("Bearer ") + kKey}};
  CHECK(api.handle(get).status == 503);
}
