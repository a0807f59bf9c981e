// Throughput figures for office/README.md (hidden: run `till_office_throughput_tests "[.bench]"`,
// best from a Release build). Prints; asserts only that every request succeeded, never a speed.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "server_fixture.hpp"

using namespace till;
using namespace till::office;
using till::office::test::RunningOffice;
using nlohmann::json;

TEST_CASE("office throughput: whoami and sync batches from 100 registers over HTTPS", "[.bench]") {
  RunningOffice office;
  auto store = office.db.add_store();
  std::vector<std::pair<RegisterIdentity, std::string>> regs;
  for (int i = 0; i < 100; ++i) regs.push_back(office.db.enrolled_register(store, "Till " + std::to_string(i)));
  const int clients = 8;
  const int batches_per_register = 4;
  const int sales_per_batch = 25;  // + one cash payment each: 50 records per batch
  std::atomic<int> failures{0};
  std::atomic<int> requests{0};

  auto run = [&](auto&& per_client) {
    std::vector<std::thread> threads;
    const auto t0 = std::chrono::steady_clock::now();
    for (int c = 0; c < clients; ++c) threads.emplace_back([&, c] { per_client(c); });
    for (auto& t : threads) t.join();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  auto make_client = [&](boost::asio::io_context& io) {
    sync::HttpConfig hc;
    hc.base_url = office.server->base_url();
    hc.extra_ca_file = office.tls.cert_file.string();
    return std::move(*sync::HttpClient::create(io, hc));
  };

  const double whoami_s = run([&](int c) {
    boost::asio::io_context io;
    auto client = make_client(io);
    for (int i = 0; i < 250; ++i) {
      const auto& cred = regs[(c * 250 + i) % regs.size()].second;
      auto r = sync::run_blocking(io, client->async_send(sync::HttpRequest(
                                          "GET", "/register/v1/whoami", {{"Authorization", "Bearer " + cred}})));
      if (!r || r->status != 200) ++failures;
      ++requests;
    }
  });
  std::printf("whoami: %d requests in %.2f s = %.0f req/s (%d client threads, %zu server threads)\n",
              requests.load(), whoami_s, requests.load() / whoami_s, clients, std::size_t{2});

  std::atomic<int> records{0};
  const double sync_s = run([&](int c) {
    boost::asio::io_context io;
    auto client = make_client(io);
    for (std::size_t r = static_cast<std::size_t>(c); r < regs.size(); r += clients) {
      const auto& [who, cred] = regs[r];
      for (int b = 0; b < batches_per_register; ++b) {
        json recs = json::array();
        for (int s = 0; s < sales_per_batch; ++s) {
          const std::string id = "s-" + std::to_string(b) + "-" + std::to_string(s);
          recs.push_back({{"kind", "sale"}, {"id", id}, {"created_at_ms", 1'790'000'000'000}, {"currency", "usd"},
                          {"subtotal", 500}, {"discount_total", 0}, {"tax_total", 0}, {"tip", 0}, {"total", 500},
                          {"lines", json::array({{{"sku", "A"}, {"quantity", 1}, {"unit_price", 500}}})}});
          recs.push_back({{"kind", "payment"}, {"id", "a-" + id}, {"sale_id", id}, {"tender", "cash"},
                          {"amount", 500}, {"currency", "usd"}, {"outcome", "approved"},
                          {"taken_at_ms", 1'790'000'000'100}});
        }
        const json body = {{"register_id", who.register_id}, {"store_id", who.store_id}, {"records", recs}};
        auto res = sync::run_blocking(
            io, client->async_send(sync::HttpRequest(
                    "POST", "/register/v1/sync",
                    {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + cred}}, body.dump())));
        if (!res || res->status != 200) ++failures;
        records += 2 * sales_per_batch;
      }
    }
  });
  std::printf("sync: %d records (%d sales) from %zu registers in %.2f s = %.0f records/s, %.0f sales/s\n",
              records.load(), records.load() / 2, regs.size(), sync_s, records.load() / sync_s,
              records.load() / 2 / sync_s);
  CHECK(failures == 0);
  CHECK(office.db.count("SELECT count(*) FROM sales") == records.load() / 2);
}
