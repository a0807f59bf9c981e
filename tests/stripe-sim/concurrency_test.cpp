// Issue 18: the simulator serves many clients at once on several io threads without losing a
// request or booking one twice.

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "sim_fixture.hpp"

using namespace till::stripesim;
using namespace till::stripesim::testing;
using nlohmann::json;

TEST_CASE("many concurrent clients against a 4-thread server: every request answered, no PaymentIntent twice") {
  Sim sim([](ServerOptions& o) { o.threads = 4; });
  constexpr int kClients = 12;
  constexpr int kSales = 15;
  std::atomic<int> unanswered{0};
  std::atomic<int> unexpected{0};
  std::vector<std::map<std::string, std::string>> ids(kClients);  // per client: key -> PI id
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      TestHttpClient http(sim.server->port());
      for (int i = 0; i < kSales; ++i) {
        // Clients 2k and 2k+1 send the same sales with the same keys, each twice, so that one
        // key races across connections and threads.
        const std::string sale = "s" + std::to_string(c / 2) + "-" + std::to_string(i);
        const std::string body = "amount=" + std::to_string(1000 + 100 * i) +
                                 "&currency=usd&payment_method=pm_card_visa&confirm=true&metadata[sale_id]=" + sale;
        for (int attempt = 0; attempt < 2; ++attempt) {
          auto r = http.request("POST", "/v1/payment_intents", sim.headers("key-" + sale, kAccount), body);
          if (r.status == 0) {
            ++unanswered;
          } else if (r.status == 409) {
            // idempotency_key_in_use: the twin holds the key right now; Stripe says retry.
            if (r.json["error"]["code"] != "idempotency_key_in_use") ++unexpected;
          } else if (r.status == 200) {
            auto [it, inserted] = ids[c].emplace(sale, r.json["id"].get<std::string>());
            if (!inserted && it->second != r.json["id"]) ++unexpected;
          } else {
            ++unexpected;
          }
        }
        // Reads interleave with the writes.
        if (http.request("GET", "/v1/payment_intents?limit=3", sim.headers({}, kAccount)).status != 200) ++unexpected;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  CHECK(unanswered == 0);
  CHECK(unexpected == 0);

  // Exactly one PaymentIntent per sale, and every id a client saw is that one.
  const auto ledger = sim.server->ledger();
  std::map<std::string, std::string> by_sale;
  std::set<std::string> pi_ids;
  for (const LedgerEntry& e : ledger) {
    CHECK(by_sale.emplace(e.metadata.at("sale_id"), e.id).second);
    CHECK(pi_ids.insert(e.id).second);
    CHECK(e.status == "succeeded");
  }
  CHECK(ledger.size() == static_cast<std::size_t>(kClients / 2 * kSales));
  for (const auto& seen : ids) {
    for (const auto& [sale, id] : seen) CHECK(by_sale.at(sale) == id);
  }
}

TEST_CASE("a multi-threaded server stops cleanly while requests and latency waits are in flight") {
  auto sim = std::make_unique<Sim>([](ServerOptions& o) {
    o.threads = 3;
    o.sim.faults = {*parse_fault("latency:ms=60000:post")};  // would hold a request for a minute
  });
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      TestHttpClient http(sim->server->port());
      http.request("POST", "/v1/payment_intents", sim->headers("stop-" + std::to_string(c), kAccount),
                   "amount=1000&currency=usd");
    });
  }
  REQUIRE(sim->server->api().wait_in_flight(4, std::chrono::seconds(10)) == 4);
  sim->server->stop();  // cancels the waits: returns long before the minute is up
  for (std::thread& t : clients) t.join();
  CHECK(sim->server->api().in_flight() == 0);  // abandoned, not stored
  CHECK(sim->server->ledger().empty());
}

TEST_CASE("a server needs at least one thread") {
  ServerOptions o;
  o.threads = 0;
  auto s = Server::start(o);
  REQUIRE_FALSE(s);
  CHECK(s.error().kind == till::ErrorKind::InvalidArgument);
}
