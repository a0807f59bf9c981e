#pragma once
// till-office's commands, one function each, over the same model the HTTP API uses. main.cpp
// parses the command line (CLI11) into these option structs. Output goes to the stream given
// (stdout in the program, a string in tests); each returns the process exit code.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace till::office::cli {

struct Common {
  std::string db;        // --db or TILL_OFFICE_DB
  std::string data_dir;  // --data-dir or TILL_OFFICE_DATA_DIR
  std::string actor;     // who the audit log names: "cli:<user>"
};

struct MerchantAdd {
  std::string name;
  std::string account;
  std::string fee = "0";  // "30+290bp", "290bp", "30"
  std::string capture = "automatic";
};
struct StoreAdd {
  std::string merchant;
  std::string name;
  std::string currency;
  std::string locale = "en-US";
  std::optional<std::int64_t> max_per_payment, max_total, max_count, max_age_seconds;
};
struct RegisterAdd {
  std::string store;
  std::string name;
};

struct Serve {
  std::string listen = "127.0.0.1:8443";
  std::string cert_file;  // both empty: the self-signed certificate of the data folder
  std::string key_file;
  std::size_t threads = 4;
  bool migrate = true;
  // Stripe (the office alone holds the key)
  std::string stripe_key_file;
  std::string stripe_url = "https://api.stripe.com";
  std::string stripe_ca_file;
  std::string partner_id;
  double rate_per_second = 0;  // 0: the default for the key's mode
};

int migrate(const Common& c, std::ostream& out);
int merchant_add(const Common& c, const MerchantAdd& m, std::ostream& out);
int store_add(const Common& c, const StoreAdd& s, std::ostream& out);
int register_add(const Common& c, const RegisterAdd& r, std::ostream& out);
int register_revoke(const Common& c, const std::string& register_id, std::ostream& out);
int register_list(const Common& c, const std::string& store_id, std::ostream& out);
// Refused versions of register records waiting for a person.
int conflicts_list(const Common& c, std::ostream& out);
// Runs until SIGINT or SIGTERM.
int serve(const Common& c, const Serve& s, std::ostream& out);

// "30+290bp" -> {30, 290}. nullopt when malformed.
std::optional<std::pair<std::int64_t, int>> parse_fee(const std::string& text);

}  // namespace till::office::cli
