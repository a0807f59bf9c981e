// till-stripe-sim: the simulator as a program for demos, CI and the SDK conformance test.
// Prints "listening on 127.0.0.1:PORT" (and the CA file with --tls) on stdout, then serves
// until SIGINT or SIGTERM.

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "till/stripesim/server.hpp"

int main(int argc, char** argv) {
  using namespace till::stripesim;
  CLI::App app{"till-stripe-sim: a local, stateful stand-in for the Stripe API subset Till uses"};
  app.set_version_flag("--version", std::string("till-stripe-sim ") + TILL_VERSION);

  ServerOptions o;
  std::vector<std::string> keys, accounts, faults, webhooks, platform_webhooks, secrets;
  int rate_limit = -1;
  double retention_hours = 24;
  double duplicate = 0;
  int reorder_ms = 0;
  app.add_option("--port", o.port, "TCP port on 127.0.0.1 (0 = ephemeral)");
  app.add_flag("--tls", o.tls, "serve HTTPS with a loopback CA generated at start");
  app.add_option("--ca-file", o.ca_file, "where to write the CA certificate (with --tls)");
  app.add_option("--api-key", keys, "accepted platform key (repeatable; sk_test_/rk_test_/sk_live_)");
  app.add_option("--platform-account", o.sim.platform_account, "the platform's own account id");
  app.add_option("--account", accounts, "a connected account acct_... (repeatable)");
  app.add_option("--webhook", webhooks, "Connect webhook endpoint URL (repeatable)");
  app.add_option("--platform-webhook", platform_webhooks, "platform webhook endpoint URL");
  app.add_option("--webhook-secret", secrets,
                 "whsec_... for the endpoints, in order (the last one is reused)");
  app.add_option("--webhook-duplicate", duplicate, "probability of delivering an event twice");
  app.add_option("--webhook-reorder-ms", reorder_ms, "random extra delivery delay (reorders)");
  app.add_option("--fault", faults,
                 "kind[:p=P][:n=N][:ms=MS][:post]; kinds: unavailable server_error rate_limit "
                 "lock_timeout latency reset lost_after_commit (repeatable)");
  app.add_option("--seed", o.sim.seed, "seed for ids and fault dice");
  app.add_option("--rate-limit", rate_limit, "requests per second per account (0 = off)");
  app.add_option("--rate-limit-test", o.sim.rate_limit_test, "per-account limit, test keys");
  app.add_option("--rate-limit-live", o.sim.rate_limit_live, "per-account limit, live keys");
  app.add_option("--idempotency-retention-hours", retention_hours, "key pruning age");
  CLI11_PARSE(app, argc, argv);

  if (!keys.empty()) o.sim.api_keys = keys;
  if (!accounts.empty()) o.sim.connected_accounts = accounts;
  if (rate_limit >= 0) o.sim.rate_limit_test = o.sim.rate_limit_live = rate_limit;
  o.sim.idempotency_retention =
      std::chrono::milliseconds(static_cast<std::int64_t>(retention_hours * 3600 * 1000));
  o.sim.webhook_options.duplicate_probability = duplicate;
  o.sim.webhook_options.max_reorder_delay = std::chrono::milliseconds(reorder_ms);
  std::size_t secret_index = 0;
  auto next_secret = [&]() -> std::string {
    if (secrets.empty()) return {};
    const std::string s = secrets[std::min(secret_index, secrets.size() - 1)];
    ++secret_index;
    return s;
  };
  for (const std::string& url : webhooks) o.sim.webhooks.push_back({url, next_secret(), true});
  for (const std::string& url : platform_webhooks) o.sim.webhooks.push_back({url, next_secret(), false});
  for (const WebhookEndpoint& w : o.sim.webhooks) {
    if (w.secret.empty()) {
      std::cerr << "till-stripe-sim: --webhook needs --webhook-secret\n";
      return 2;
    }
  }
  for (const std::string& spec : faults) {
    auto f = parse_fault(spec);
    if (!f) {
      std::cerr << "till-stripe-sim: --fault " << spec << ": " << f.error().message << "\n";
      return 2;
    }
    o.sim.faults.push_back(*f);
  }

  // Block the stop signals before any thread starts, then wait for one.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto server = Server::start(o);
  if (!server) {
    std::cerr << "till-stripe-sim: " << server.error().describe() << "\n";
    return 1;
  }
  std::cout << "listening on 127.0.0.1:" << (*server)->port() << std::endl;
  if (o.tls) std::cout << "ca file: " << (*server)->ca_file() << std::endl;

  int sig = 0;
  sigwait(&set, &sig);
  (*server)->stop();
  return 0;
}
