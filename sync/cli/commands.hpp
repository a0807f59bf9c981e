#pragma once
// The commands of `till-sync` (the back-office program). main.cpp parses the command line with
// CLI11 and calls one of these; they print to the streams they are given (stdout/stderr from
// main) and return the process exit code.
//
// Exit codes (documented in sync/README.md):
//   0  success; `status`: nothing needs a person
//   1  runtime failure (Stripe unreachable, a store write failed, ...)
//   2  usage error (bad arguments)
//   3  database unavailable: missing, in use by another writer (the single-writer lock), newer
//      schema, corrupt
//   4  attention needed: dead operations, in-doubt attempts or unresolved attention items
//      (`status`), or dead operations / in-doubt attempts left after `drain --once`
//   5  `reconcile` found discrepancies
//   6  `retry` / `resolve`: no such operation, or it is not dead
//   7  configuration error: no or bad API key, key file or webhook secret
//
// Threading: main thread; `run` and `drain` run the core io_context on it.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace till::sync::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitDatabase = 3;
inline constexpr int kExitAttention = 4;
inline constexpr int kExitDiscrepancies = 5;
inline constexpr int kExitNotFound = 6;
inline constexpr int kExitConfig = 7;

struct Globals {
  std::string db = "till.db";
  bool json = false;
  std::string account;  // TILL_ACCOUNT: reconcile scope; never used to route a payment
  std::string api_base = "https://api.stripe.com";
  std::string ca_file;
  std::string key_file;
  std::string log_file;
  std::string actor;  // audit entries; default $USER or "till-sync"
};

struct RunOptions {
  std::string listen = "127.0.0.1:8787";
  std::string webhook_path = "/webhooks/stripe";
  std::string webhook_secret_file;  // else STRIPE_WEBHOOK_SECRET
  bool no_webhooks = false;
  int concurrency = 8;
  int max_attempts = 20;
  double key_retention_hours = 23;
  std::string fee_rule;  // informational for `run`; the kiosk builds operations
};

int cmd_run(const Globals& g, const RunOptions& o, std::ostream& out, std::ostream& err);
int cmd_status(const Globals& g, std::ostream& out, std::ostream& err);
int cmd_drain(const Globals& g, int concurrency, int max_operations, bool progress, std::ostream& out,
              std::ostream& err);
int cmd_reconcile(const Globals& g, const std::string& from, const std::string& to, std::ostream& out,
                  std::ostream& err);
int cmd_report(const Globals& g, const std::string& day, const std::string& csv_file, std::ostream& out,
               std::ostream& err);
int cmd_retry(const Globals& g, std::int64_t id, const std::string& reason, std::ostream& out, std::ostream& err);
int cmd_resolve(const Globals& g, std::int64_t id, bool attention, const std::string& reason, std::ostream& out,
                std::ostream& err);

}  // namespace till::sync::cli
