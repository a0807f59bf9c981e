#pragma once
// The register's identity, stored in its own database (one row, migration 5): the id Stripe's
// metadata[register_id] carries on every PaymentIntent of this register, receipts print and
// `till-sync reconcile` scopes to, and the human name people see. The database is its one owner:
// whoever opens the database as its writer claims the identity once, and every later open reads
// the same one, so two registers of one shop never share an id (issue 12) unless configured so.
//
// Threading: like Store, the thread that owns the Store. Errors as store.hpp's.

#include <string>
#include <string_view>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/base/result.hpp"
#include "till/store/store.hpp"

namespace till::store {

inline constexpr std::string_view kDefaultRegisterName = "Register 1";

struct RegisterIdentity {
  std::string id;    // "reg_" + 16 lowercase hex digits when generated, else as configured
  std::string name;  // "Register 1" unless configured
  Timestamp created_at{};
  bool operator==(const RegisterIdentity&) const = default;
};

// What the configuration says; empty fields: keep the stored value (or generate / default).
struct IdentityRequest {
  std::string id;
  std::string name;
};

// InvalidArgument naming the rule: an id is 1 to 64 characters of A-Z a-z 0-9 _ . - (it goes into
// Stripe metadata, file names and log lines as it is); a name is 1 to 64 characters with no
// control characters.
Status validate_register_id(std::string_view id);
Status validate_register_name(std::string_view name);

// Writer only. On the first call for a database: stores the configured id, or generates "reg_" +
// 64 random bits from `random` (the kernel CSPRNG in production), and the configured name or
// "Register 1", with an audit entry. Later: returns the stored identity; a configured name that
// differs renames the register (audited); a configured id that differs is refused with
// FailedPrecondition naming both (the id is how Stripe and reconcile know this register's
// payments; it never changes once a payment may carry it: use a fresh data folder instead).
Result<RegisterIdentity> claim_register_identity(Store& store, const IdentityRequest& request, Random& random);

// Either mode. NotFound when none is stored yet (a database no kiosk has opened since register
// identities exist).
Result<RegisterIdentity> read_register_identity(Store& store);

}  // namespace till::store
