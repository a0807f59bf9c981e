#pragma once
// An in-process simulator on 127.0.0.1:ephemeral with a FakeClock, and a keep-alive client that
// speaks to it the way Stripe's SDKs do (Bearer key, Stripe-Version, Stripe-Account).

#include <functional>
#include <memory>
#include <string>

#include "http_test_client.hpp"
#include "till/base/clock.hpp"
#include "till/stripesim/server.hpp"

namespace till::stripesim::testing {

inline constexpr const char* kKey = "sk_test_till_sim_platform_key";
inline constexpr const char* kAccount = "acct_1TillMerchant00001";
inline constexpr const char* kOtherAccount = "acct_1TillMerchant00002";

struct Sim {
  FakeClock clock;
  std::unique_ptr<Server> server;
  std::unique_ptr<TestHttpClient> http;

  explicit Sim(const std::function<void(ServerOptions&)>& tweak = {}) {
    ServerOptions o;
    o.sim.clock = &clock;
    o.sim.connected_accounts = {kAccount, kOtherAccount};
    o.sim.rate_limit_test = 0;  // most tests send bursts on a frozen clock
    o.sim.rate_limit_live = 0;
    if (tweak) tweak(o);
    auto s = Server::start(o);
    if (!s) throw std::runtime_error("simulator did not start: " + s.error().describe());
    server = std::move(*s);
    http = std::make_unique<TestHttpClient>(server->port(), server->ca_file());
  }

  Headers headers(const std::string& idempotency_key, const std::string& account) const {
    Headers h{{"Authorization", std::string("Bearer ") + kKey}, {"Stripe-Version", "2026-10-28.endive"}};
    if (!account.empty()) h.emplace_back("Stripe-Account", account);
    if (!idempotency_key.empty()) h.emplace_back("Idempotency-Key", idempotency_key);
    return h;
  }

  HttpResult post(const std::string& path, const std::string& body, const std::string& idempotency_key = {},
                  const std::string& account = kAccount) {
    return http->request("POST", path, headers(idempotency_key, account), body);
  }
  HttpResult get(const std::string& path, const std::string& account = kAccount) {
    return http->request("GET", path, headers({}, account));
  }

  // A confirmed card-present PaymentIntent; returns its JSON.
  nlohmann::json pay(std::int64_t amount, const std::string& extra = {},
                     const std::string& pm = "pm_card_visa", const std::string& key = {}) {
    auto r = post("/v1/payment_intents",
                  "amount=" + std::to_string(amount) +
                      "&currency=usd&allowed_payment_method_types[0]=card_present&payment_method=" + pm +
                      "&confirm=true" + extra,
                  key);
    return r.json;
  }
};

}  // namespace till::stripesim::testing
