#pragma once
// The offline risk policy (architecture.md, stripe.md §8). A payment stored offline is only
// authorized when it is forwarded, so a decline then is money the merchant loses: Till caps how
// much it will hold. Stripe publishes no numbers; these are configuration with safe defaults:
//
//   per-transaction maximum   USD/CAD/EUR/GBP/AUD/NZD 100.00, JPY 15000; other currencies: none
//                             configured, so offline is refused for them
//   stored total per currency USD/CAD/EUR/GBP/AUD/NZD 1000.00, JPY 150000
//   stored count              50 payments (all currencies)
//   max age before forwarding 24 h: once the oldest stored payment is older, nothing new is
//                             stored until it has been forwarded (authorizations go stale)
//   allowed brands            visa, mastercard, amex, discover
//   refused offline           online-PIN cards, Interac, swiped (magnetic stripe) cards —
//                             Stripe's own rules; the flags exist so tests can name them
//   enabled                   true; `require_online` in settings turns offline off entirely
//
// evaluate() is a pure function of the config, what is already stored and the payment.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "till/base/clock.hpp"

namespace till::pos {

struct CurrencyCaps {
  std::int64_t per_transaction_max = 0;  // minor units; a payment above it is refused
  std::int64_t stored_total_max = 0;     // minor units; stored + this payment above it is refused
  bool operator==(const CurrencyCaps&) const = default;
};

struct RiskConfig {
  bool enabled = true;  // false = require online: every offline payment is refused
  std::map<std::string, CurrencyCaps> caps;  // by lowercase currency; absent = refused offline
  std::int64_t max_stored_count = 50;        // stored + this payment above it is refused
  std::chrono::milliseconds max_age = std::chrono::hours(24);
  std::vector<std::string> allowed_brands = {"visa", "mastercard", "amex", "discover"};
  bool refuse_online_pin = true;
  bool refuse_interac = true;
  bool refuse_swipe = true;

  static RiskConfig safe_defaults();  // the table above
  bool operator==(const RiskConfig&) const = default;
};

struct StoredCurrency {
  std::int64_t count = 0;
  std::int64_t amount = 0;  // minor units
  bool operator==(const StoredCurrency&) const = default;
};

// What is currently stored offline and not yet forwarded (from the store).
struct StoredTotals {
  std::map<std::string, StoredCurrency> by_currency;
  std::int64_t count = 0;                 // all currencies
  std::optional<Timestamp> oldest;        // created_at of the oldest stored payment
  bool operator==(const StoredTotals&) const = default;
};

// The payment asking to be stored. Card fields are unknown (empty/false) before the card is
// read; evaluate() then checks only the amount, count and age caps (the pre-check at Charge).
struct OfflinePayment {
  std::int64_t amount = 0;  // minor units, tip included
  std::string currency;     // lowercase
  std::string brand;        // empty = not read yet
  std::string read_method;  // "magnetic_stripe", "magnetic_stripe_fallback", "contact_emv", ...
  bool online_pin_required = false;
  Timestamp now{};
  bool operator==(const OfflinePayment&) const = default;
};

struct Allowed {
  bool operator==(const Allowed&) const = default;
};

enum class RefusalReason {
  Disabled,            // offline payments turned off (require online)
  CurrencyNotAllowed,  // no caps configured for this currency
  OverTransactionMax,
  OverStoredTotal,
  OverStoredCount,
  TooOld,              // the oldest stored payment must be forwarded first
  BrandNotAllowed,
  OnlinePin,
  Interac,
  Swipe,
};

struct Refused {
  RefusalReason reason = RefusalReason::Disabled;
  std::string message;  // for staff: "offline limit: at most USD 100.00 per payment"
  bool operator==(const Refused&) const = default;
};

using RiskDecision = std::variant<Allowed, Refused>;

// Pure; any thread. Checks, in order: enabled, currency, transaction max, stored total, count,
// age, then (when the card is known) interac, swipe, online PIN, brand. The first failing check
// is the reason.
RiskDecision evaluate(const RiskConfig& config, const StoredTotals& stored, const OfflinePayment& payment);

// Headroom left under the caps for one currency (for the staff banner). Negative never: 0.
struct Headroom {
  std::string currency;
  std::int64_t amount = 0;  // stored_total_max - stored amount
  std::int64_t count = 0;   // max_stored_count - stored count
  std::int64_t per_transaction_max = 0;
  bool operator==(const Headroom&) const = default;
};
// Pure; any thread; never fails (an unconfigured currency has 0 amount headroom).
Headroom headroom(const RiskConfig& config, const StoredTotals& stored, const std::string& currency);

std::string_view to_string(RefusalReason r) noexcept;

}  // namespace till::pos
