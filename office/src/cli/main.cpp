// till-office: the platform backend. Command-line parsing only; the commands are in
// commands.cpp (office/README.md lists them).

#include <cstdlib>
#include <iostream>

#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace cli = till::office::cli;

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : fallback;
}

std::string user_name() {
  const passwd* pw = getpwuid(getuid());
  return pw ? pw->pw_name : std::to_string(getuid());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"till-office: the platform backend (PostgreSQL 15; the only holder of the Stripe key)"};
  app.set_version_flag("--version", std::string("till-office ") + TILL_VERSION);
  app.require_subcommand(1);
  cli::Common common;
  common.db = env_or("TILL_OFFICE_DB", "");
  common.data_dir = env_or("TILL_OFFICE_DATA_DIR", "");
  common.actor = "cli:" + user_name();
  app.add_option("--db", common.db, "PostgreSQL connection string (or TILL_OFFICE_DB)");
  app.add_option("--data-dir", common.data_dir, "the office's folder: TLS certificate, log (or TILL_OFFICE_DATA_DIR)");

  auto* migrate = app.add_subcommand("migrate", "apply the schema migrations this binary carries");

  auto* merchant = app.add_subcommand("merchant", "merchants (Stripe connected accounts)")->require_subcommand(1);
  cli::MerchantAdd madd;
  auto* merchant_add = merchant->add_subcommand("add", "add a merchant");
  merchant_add->add_option("--name", madd.name, "the merchant's name")->required();
  merchant_add->add_option("--account", madd.account, "the connected account, acct_...")->required();
  merchant_add->add_option("--fee", madd.fee, "application fee: fixed minor units + basis points, e.g. 30+290bp");
  merchant_add->add_option("--capture", madd.capture, "automatic | automatic_async | manual");

  auto* store = app.add_subcommand("store", "stores of a merchant")->require_subcommand(1);
  cli::StoreAdd sadd;
  auto* store_add = store->add_subcommand("add", "add a store");
  store_add->add_option("--merchant", sadd.merchant, "merchant id (mer_...)")->required();
  store_add->add_option("--name", sadd.name, "the store's name")->required();
  store_add->add_option("--currency", sadd.currency, "lowercase ISO currency, e.g. usd")->required();
  store_add->add_option("--locale", sadd.locale, "e.g. en-US");
  store_add->add_option("--offline-max-per-payment", sadd.max_per_payment, "offline cap, minor units");
  store_add->add_option("--offline-max-total", sadd.max_total, "offline cap, minor units");
  store_add->add_option("--offline-max-count", sadd.max_count, "offline cap, payments");
  store_add->add_option("--offline-max-age", sadd.max_age_seconds, "offline cap, seconds");

  auto* reg = app.add_subcommand("register", "registers (tills) of a store")->require_subcommand(1);
  cli::RegisterAdd radd;
  auto* reg_add = reg->add_subcommand("add", "add a register: prints its one-time enrolment code");
  reg_add->add_option("--store", radd.store, "store id (sto_...)")->required();
  reg_add->add_option("--name", radd.name, "a name people use for it")->required();
  std::string revoke_id;
  auto* reg_revoke = reg->add_subcommand("revoke", "cut a register off at once");
  reg_revoke->add_option("register", revoke_id, "register id (reg_...)")->required();
  std::string list_store;
  auto* reg_list = reg->add_subcommand("list", "list registers");
  reg_list->add_option("--store", list_store, "only this store");

  auto* conflicts = app.add_subcommand("conflicts", "records a register sent twice with different content")
                        ->require_subcommand(1);
  auto* conflicts_list = conflicts->add_subcommand("list", "refused versions waiting for review");

  cli::Serve serve;
  auto* srv = app.add_subcommand("serve", "run the HTTPS API (migrates first unless --no-migrate)");
  srv->add_option("--listen", serve.listen, "HOST:PORT");
  srv->add_option("--cert", serve.cert_file, "PEM certificate (default: self-signed in the data folder)");
  srv->add_option("--key", serve.key_file, "PEM private key, mode 0600");
  srv->add_option("--threads", serve.threads, "worker threads (and database connections)");
  srv->add_flag("!--no-migrate", serve.migrate, "refuse to start on an old schema instead of migrating");
  srv->add_option("--key-file", serve.stripe_key_file, "Stripe API key file, mode 0600 (or STRIPE_API_KEY)");
  srv->add_option("--stripe-url", serve.stripe_url, "Stripe API base URL (till-stripe-sim's for tests)");
  srv->add_option("--stripe-ca-file", serve.stripe_ca_file, "extra CA for a loopback till-stripe-sim over TLS");
  srv->add_option("--partner-id", serve.partner_id, "Stripe partner id for app info (pp_partner_...)");
  srv->add_option("--rate", serve.rate_per_second, "Stripe calls per second for the whole platform account");

  CLI11_PARSE(app, argc, argv);
  std::ostream& out = std::cout;
  if (*migrate) return cli::migrate(common, out);
  if (*merchant_add) return cli::merchant_add(common, madd, out);
  if (*store_add) return cli::store_add(common, sadd, out);
  if (*reg_add) return cli::register_add(common, radd, out);
  if (*reg_revoke) return cli::register_revoke(common, revoke_id, out);
  if (*reg_list) return cli::register_list(common, list_store, out);
  if (*conflicts_list) return cli::conflicts_list(common, out);
  if (*srv) return cli::serve(common, serve, out);
  return 2;
}
