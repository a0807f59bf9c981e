#pragma once
// The office's registry: merchants (connected accounts), their stores, and the registers of a
// store with their enrolment and credentials. The one place that writes those tables; the CLI
// and the HTTP handlers both call it.
//
// Register credentials: "tillreg_" + 64 hex digits (256 random bits), returned once at
// enrolment; the office keeps only its SHA-256. A high-entropy random secret needs no slow KDF:
// a slow hash protects guessable passwords from offline guessing, and 2^256 is not guessable.
// Enrolment codes: 16 Crockford base32 characters (80 bits) shown as XXXX-XXXX-XXXX-XXXX,
// kept as SHA-256, valid 24 h, usable once.
//
// Threading: thread-safe (each call leases its own connection from the pool).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/base/result.hpp"
#include "till/base/secret.hpp"
#include "till/office/pg.hpp"

namespace till::office {

inline constexpr std::chrono::hours kEnrolmentCodeLifetime{24};
inline constexpr std::string_view kCredentialPrefix = "tillreg_";

struct MerchantSpec {
  std::string name;
  std::string stripe_account;  // acct_...
  std::int64_t fee_fixed = 0;  // application fee: fixed minor units ...
  int fee_bps = 0;             // ... plus basis points of the amount
  std::string capture_method = "automatic";
};

struct Merchant {
  std::string id;
  std::string name;
  std::string stripe_account;
  std::int64_t fee_fixed = 0;
  int fee_bps = 0;
  std::string capture_method;
};

struct OfflineCaps {
  std::optional<std::int64_t> max_per_payment;
  std::optional<std::int64_t> max_total;
  std::optional<std::int64_t> max_count;
  std::optional<std::int64_t> max_age_seconds;
};

struct StoreSpec {
  std::string merchant_id;
  std::string name;
  std::string currency;  // lowercase ISO 4217
  std::string locale = "en-US";
  OfflineCaps caps;
};

struct Store {
  std::string id;
  std::string merchant_id;
  std::string name;
  std::string currency;
  std::string locale;
  OfflineCaps caps;
};

struct NewRegister {
  std::string register_id;
  Secret enrolment_code;  // XXXX-XXXX-XXXX-XXXX, shown once
  Timestamp expires_at;
};

struct RegisterInfo {
  std::string id;
  std::string store_id;
  std::string name;
  std::string device_name;
  // awaiting_enrolment | enrolled | revoked | code_expired
  std::string state;
  std::optional<Timestamp> enrol_expires_at;
  std::optional<Timestamp> enrolled_at;
  std::optional<Timestamp> revoked_at;
  std::optional<Timestamp> last_seen_at;
};

struct Enrolment {
  std::string register_id;
  Secret credential;
  Store store;
  std::string merchant_name;
};

// Who an authenticated request comes from.
struct RegisterIdentity {
  std::string register_id;
  std::string store_id;
  std::string merchant_id;
  std::string currency;
};

// An enrolment code as typed: upper-cased, '-' and spaces removed, O->0, I/L->1. Empty when it
// cannot be a code (wrong length or characters).
std::string normalize_enrolment_code(std::string_view typed);
// A short, non-reversible tag of a presented secret for logs ("sha256:1a2b3c4d"): lets a person
// match failures from one client without the log ever holding the secret.
std::string secret_tag(std::string_view secret);

class Registry {
 public:
  Registry(pg::Pool& pool, const Clock& clock, Random& random) : pool_(pool), clock_(clock), random_(random) {}

  // InvalidArgument for a malformed spec (also when PostgreSQL's checks refuse it),
  // FailedPrecondition when the connected account is already a merchant.
  Result<Merchant> add_merchant(const MerchantSpec& spec, std::string_view actor);
  Result<Merchant> merchant(std::string_view id);
  // NotFound when the merchant does not exist.
  Result<Store> add_store(const StoreSpec& spec, std::string_view actor);
  Result<Store> store(std::string_view id);

  // A register awaiting enrolment, with its one-time code. NotFound for an unknown store.
  Result<NewRegister> add_register(std::string_view store_id, std::string_view name, std::string_view actor);
  // Cuts the register off at once: its credential stops working on the next request.
  // NotFound for an unknown register; revoking twice is ok() (it stays revoked from the first).
  Status revoke_register(std::string_view register_id, std::string_view actor);
  Result<std::vector<RegisterInfo>> list_registers(std::string_view store_id = {});

  // Redeems a code. Unauthenticated for a code that is unknown, expired or whose register was
  // revoked; FailedPrecondition for a code already used (a replay, logged). Nothing is
  // written on failure.
  Result<Enrolment> enrol(std::string_view code, std::string_view device_name);

  // The register a credential belongs to. Unauthenticated when it is malformed, unknown or
  // revoked. Marks the register seen (at most once a minute).
  Result<RegisterIdentity> authenticate(std::string_view credential);

  // Appends to the audit log (its own transaction).
  Status audit(std::string_view actor, std::string_view action, std::string_view subject, std::string_view detail_json);

 private:
  pg::Pool& pool_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace till::office
