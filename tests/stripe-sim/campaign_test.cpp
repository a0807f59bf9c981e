// A small exactly-once campaign against the simulator itself: concurrent clients, every fault
// class on at once, each sale retried with its one key until the outcome is known (or looked up
// by metadata when the key was poisoned by a stored 500). The ledger must hold exactly one
// succeeded PaymentIntent per sale. This checks the simulator's side of issue 4's campaign.

#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "sim_fixture.hpp"

using namespace till::stripesim;
using namespace till::stripesim::testing;

namespace {

constexpr int kClients = 4;
constexpr int kSalesPerClient = 15;

// Drives one sale to a known outcome; returns the number of HTTP attempts.
int sync_sale(TestHttpClient& http, const Sim& sim, const std::string& sale_id) {
  const std::string body =
      "amount=1200&currency=usd&allowed_payment_method_types[0]=card_present"
      "&payment_method=pm_card_visa&confirm=true&application_fee_amount=36"
      "&metadata[sale_id]=" +
      sale_id;
  int generation = 0;
  for (int attempt = 1; attempt <= 200; ++attempt) {
    const std::string key = sale_id + "-k" + std::to_string(generation);
    auto r = http.request("POST", "/v1/payment_intents", sim.headers(key, kAccount), body);
    if (r.status == 200) return attempt;
    if (r.status == 500) {
      // The key replays this 500 forever: the request applied nothing, but look it up by
      // metadata before using a new key, as the sync engine must.
      auto found = http.request(
          "GET", "/v1/payment_intents/search?query=metadata%5B%27sale_id%27%5D%3A%27" + sale_id + "%27",
          sim.headers({}, kAccount));
      if (found.status == 200 && !found.json["data"].empty()) return attempt;
      if (found.status == 200) ++generation;
    }
    // 0 (dropped), 409, 429, 503: same key again.
  }
  return -1;
}

}  // namespace

TEST_CASE("concurrent clients with every fault class on end with exactly one PaymentIntent per sale") {
  Sim sim([](ServerOptions& o) {
    o.sim.seed = 2024;
    for (const char* spec : {"unavailable:p=0.08:post", "server_error:p=0.04:post", "rate_limit:p=0.08",
                             "lock_timeout:p=0.05:post", "latency:ms=3:p=0.2", "reset:p=0.05:post",
                             "lost_after_commit:p=0.1:post"}) {
      o.sim.faults.push_back(*parse_fault(spec));
    }
  });
  std::vector<std::thread> threads;
  std::vector<int> failures(kClients, 0);
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      TestHttpClient http(sim.server->port());
      for (int s = 0; s < kSalesPerClient; ++s) {
        const std::string sale = "sale-" + std::to_string(c) + "-" + std::to_string(s);
        if (sync_sale(http, sim, sale) < 0) ++failures[static_cast<std::size_t>(c)];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int f : failures) CHECK(f == 0);

  auto ledger = sim.server->ledger();
  std::map<std::string, int> per_sale;
  for (const LedgerEntry& e : ledger) {
    CHECK(e.account == kAccount);
    CHECK(e.amount == 1200);
    CHECK(e.application_fee_amount == 36);
    CHECK(e.status == "succeeded");
    ++per_sale[e.metadata.at("sale_id")];
  }
  CHECK(per_sale.size() == static_cast<std::size_t>(kClients * kSalesPerClient));
  for (const auto& [sale, count] : per_sale) {
    INFO(sale);
    CHECK(count == 1);
  }
  // The faults fired: well over one request per sale was needed.
  CHECK(sim.server->api().requests_seen() > static_cast<std::uint64_t>(kClients * kSalesPerClient * 3 / 2));
}
