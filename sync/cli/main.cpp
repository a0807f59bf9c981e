// till-sync: the back-office program (issue 4). Parses the command line and runs one command;
// see commands.hpp for the exit codes and sync/README.md for the manual.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "till/base/data_dir.hpp"
#include "till/base/log.hpp"

using namespace till::sync::cli;

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"till-sync: sync queued payments to Stripe, status, reconcile and reports for one register"};
  app.set_version_flag("--version", std::string("till-sync ") + TILL_VERSION);
  app.require_subcommand(1);

  Globals g;
  // The database: --db (or TILL_DB), else till.db in the data folder, found by the rule every Till
  // program shares (base/data_dir.hpp: --data-dir, TILL_DATA_DIR, the XDG default).
  std::string data_dir;
  g.db = env_or("TILL_DB", "");
  g.account = env_or("TILL_ACCOUNT", "");
  g.api_base = env_or("TILL_API_BASE", g.api_base);
  app.add_option("--data-dir", data_dir,
                 "the register's data folder, holding till.db and data.key (default: TILL_DATA_DIR, else "
                 "$XDG_DATA_HOME/till, else ~/.local/share/till)");
  app.add_option("--db", g.db, "the register's SQLite database (TILL_DB; default: till.db in the data folder)");
  app.add_flag("--json", g.json, "machine-readable output");
  app.add_option("--account", g.account, "connected account acct_... to reconcile (TILL_ACCOUNT); payments are "
                                         "always sent to the account they were taken for");
  app.add_option("--api-base", g.api_base, "Stripe API base URL, e.g. http://127.0.0.1:12111 for till-stripe-sim")
      ->capture_default_str();
  app.add_option("--ca-file", g.ca_file, "extra PEM CA to trust (the loopback simulator's test CA)");
  app.add_option("--key-file", g.key_file, "file holding the API key (mode 0600); else STRIPE_API_KEY");
  app.add_option("--log-file", g.log_file, "JSON-lines log file (rotated); default: warnings to stderr");
  app.add_option("--actor", g.actor, "name written to audit entries (default $USER)");

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "sync daemon: drain the outbox continuously and serve the webhook endpoint");
  run_cmd->add_option("--listen", run.listen, "webhook endpoint HOST:PORT")->capture_default_str();
  run_cmd->add_option("--webhook-path", run.webhook_path, "webhook endpoint path")->capture_default_str();
  run_cmd->add_option("--webhook-secret-file", run.webhook_secret_file,
                      "file holding whsec_... (mode 0600); else STRIPE_WEBHOOK_SECRET");
  run_cmd->add_flag("--no-webhooks", run.no_webhooks, "do not serve the webhook endpoint");
  run_cmd->add_option("--concurrency", run.concurrency, "operations in flight at once")->capture_default_str();
  run_cmd->add_option("--max-attempts", run.max_attempts, "sends before an operation is dead")->capture_default_str();
  run_cmd->add_option("--key-retention-hours", run.key_retention_hours,
                      "look a payment up before re-sending once its first send is this old")
      ->capture_default_str();

  app.add_subcommand("status", "counts per state, oldest unsent, offline totals, in-doubt, dead and attention lists "
                               "(read-only: works beside a running writer)");

  bool once = false;
  int drain_concurrency = 8;
  int drain_max = 0;
  auto* drain_cmd = app.add_subcommand("drain", "send what is due now, then exit");
  drain_cmd->add_flag("--once", once, "one pass over what is due (required)")->required();
  drain_cmd->add_option("--concurrency", drain_concurrency, "operations in flight at once")->capture_default_str();
  drain_cmd->add_option("--max", drain_max, "stop after this many operations (0: all)")->capture_default_str();

  std::string from, to;
  auto* rec_cmd = app.add_subcommand("reconcile", "compare local sales with Stripe's PaymentIntents (by metadata)");
  rec_cmd->add_option("--from", from, "first day, YYYY-MM-DD (UTC)")->required();
  rec_cmd->add_option("--to", to, "last day, YYYY-MM-DD (UTC, inclusive)")->required();

  std::string day, csv;
  auto* rep_cmd = app.add_subcommand("report", "end-of-day totals per tender, currency, tax rate, fees and refunds");
  rep_cmd->add_option("--day", day, "YYYY-MM-DD (UTC)")->required();
  rep_cmd->add_option("--csv", csv, "also write the report as CSV to this file");

  std::int64_t retry_id = 0;
  std::string retry_reason;
  auto* retry_cmd = app.add_subcommand("retry", "put a dead operation back in the queue (same key; audited)");
  retry_cmd->add_option("ID", retry_id, "operation id (see status)")->required();
  retry_cmd->add_option("--reason", retry_reason, "why (audited)");

  std::int64_t resolve_id = 0;
  std::string handled_outside;
  bool attention = false;
  auto* resolve_cmd = app.add_subcommand("resolve", "close a dead operation (or an attention item) handled outside Till");
  resolve_cmd->add_option("ID", resolve_id, "operation id (or attention item id with --attention)")->required();
  resolve_cmd->add_option("--handled-outside", handled_outside, "what was done, for the audit log")->required();
  resolve_cmd->add_flag("--attention", attention, "ID is an attention item (e.g. declined_after_forward)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (g.db.empty()) {
    auto dir = till::resolve_data_dir(data_dir);
    if (!dir) {
      std::cerr << "till-sync: " << dir.error().message << "\n";
      return kExitConfig;
    }
    g.db = (std::filesystem::path(dir->path) / "till.db").string();
  }

  till::log::Config lc;
  lc.path = g.log_file;
  lc.level = g.log_file.empty() ? till::log::Level::Warn : till::log::Level::Info;
  if (auto r = till::log::init(lc); !r) {
    std::cerr << "till-sync: " << r.error().describe() << "\n";
    return kExitConfig;
  }
  int code = kExitUsage;
  if (run_cmd->parsed()) code = cmd_run(g, run, std::cout, std::cerr);
  else if (app.got_subcommand("status")) code = cmd_status(g, std::cout, std::cerr);
  else if (drain_cmd->parsed()) code = cmd_drain(g, drain_concurrency, drain_max, once && ::isatty(STDERR_FILENO) == 1, std::cout, std::cerr);
  else if (rec_cmd->parsed()) code = cmd_reconcile(g, from, to, std::cout, std::cerr);
  else if (rep_cmd->parsed()) code = cmd_report(g, day, csv, std::cout, std::cerr);
  else if (retry_cmd->parsed()) code = cmd_retry(g, retry_id, retry_reason, std::cout, std::cerr);
  else if (resolve_cmd->parsed()) code = cmd_resolve(g, resolve_id, attention, handled_outside, std::cout, std::cerr);
  till::log::shutdown();
  return code;
}
