// till-stripe-sim: the simulator as a program for demos, CI and the SDK conformance test.
// Prints "listening on 127.0.0.1:PORT" (and the CA file with --tls) on stdout, then serves
// until SIGINT or SIGTERM.

#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "till/stripesim/server.hpp"

namespace {

using namespace till::stripesim;

// The flags that need more than a plain assignment, gathered before they become options.
struct Flags {
  std::vector<std::string> keys, accounts, faults, webhooks, platform_webhooks, secrets;
  int rate_limit = -1;
  double retention_hours = 24;
  double duplicate = 0;
  int reorder_ms = 0;
  std::optional<std::uint64_t> id_seed;
};

void add_options(CLI::App& app, ServerOptions& o, Flags& f) {
  app.add_option("--port", o.port, "TCP port on 127.0.0.1 (0 = ephemeral)");
  app.add_flag("--tls", o.tls, "serve HTTPS with a loopback CA generated at start");
  app.add_option("--ca-file", o.ca_file, "where to write the CA certificate (with --tls)");
  app.add_option("--api-key", f.keys, "accepted platform key (repeatable; sk_test_/rk_test_/sk_live_)");
  app.add_option("--platform-account", o.sim.platform_account, "the platform's own account id");
  app.add_option("--account", f.accounts, "a connected account acct_... (repeatable)");
  app.add_option("--webhook", f.webhooks, "Connect webhook endpoint URL (repeatable)");
  app.add_option("--platform-webhook", f.platform_webhooks, "platform webhook endpoint URL");
  app.add_option("--webhook-secret", f.secrets, "whsec_... for the endpoints, in order (the last one is reused)");
  app.add_option("--webhook-duplicate", f.duplicate, "probability of delivering an event twice");
  app.add_option("--webhook-reorder-ms", f.reorder_ms, "random extra delivery delay (reorders)");
  app.add_option("--fault", f.faults,
                 "kind[:p=P][:n=N][:ms=MS][:post]; kinds: unavailable server_error rate_limit "
                 "lock_timeout latency reset lost_after_commit (repeatable)");
  app.add_option("--seed", o.sim.seed, "seed for the fault and webhook dice (ids never come from it)");
  app.add_option("--id-seed", f.id_seed, "fix object ids for a reproducible demo (default: getrandom)");
  app.add_option("--state-dir", o.sim.state_dir, "keep the books in this folder across restarts");
  app.add_option("--threads", o.threads, "io_context threads serving connections (default 2)")
      ->check(CLI::Range(1, 64));
  app.add_option("--rate-limit", f.rate_limit, "requests per second per account (0 = off)");
  app.add_option("--rate-limit-test", o.sim.rate_limit_test, "per-account limit, test keys");
  app.add_option("--rate-limit-live", o.sim.rate_limit_live, "per-account limit, live keys");
  app.add_option("--idempotency-retention-hours", f.retention_hours, "key pruning age");
}

// Applies the gathered flags; false (after saying why on stderr) when they do not make sense.
bool apply(const Flags& f, ServerOptions& o) {
  if (!f.keys.empty()) o.sim.api_keys = f.keys;
  if (!f.accounts.empty()) o.sim.connected_accounts = f.accounts;
  if (f.rate_limit >= 0) o.sim.rate_limit_test = o.sim.rate_limit_live = f.rate_limit;
  o.sim.id_seed = f.id_seed;
  o.sim.idempotency_retention = std::chrono::milliseconds(static_cast<std::int64_t>(f.retention_hours * 3600 * 1000));
  o.sim.webhook_options.duplicate_probability = f.duplicate;
  o.sim.webhook_options.max_reorder_delay = std::chrono::milliseconds(f.reorder_ms);
  std::size_t secret_index = 0;
  auto next_secret = [&]() -> std::string {
    if (f.secrets.empty()) return {};
    return f.secrets[std::min(secret_index++, f.secrets.size() - 1)];
  };
  for (const std::string& url : f.webhooks) o.sim.webhooks.push_back({url, next_secret(), true});
  for (const std::string& url : f.platform_webhooks) o.sim.webhooks.push_back({url, next_secret(), false});
  for (const WebhookEndpoint& w : o.sim.webhooks) {
    if (w.secret.empty()) {
      std::cerr << "till-stripe-sim: --webhook needs --webhook-secret\n";
      return false;
    }
  }
  for (const std::string& spec : f.faults) {
    auto fault = parse_fault(spec);
    if (!fault) {
      std::cerr << "till-stripe-sim: --fault " << spec << ": " << fault.error().message << "\n";
      return false;
    }
    o.sim.faults.push_back(*fault);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"till-stripe-sim: a local, stateful stand-in for the Stripe API subset Till uses"};
  app.set_version_flag("--version", std::string("till-stripe-sim ") + TILL_VERSION);
  ServerOptions o;
  Flags flags;
  add_options(app, o, flags);
  CLI11_PARSE(app, argc, argv);
  if (!apply(flags, o)) return 2;

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
