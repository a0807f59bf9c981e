#pragma once
// The durable records of a sale: what the reducer hands to the store (PersistSale), what the
// store gives back, and what the sync engine works from. Plain values; amounts in minor units of
// the record's currency (lowercase ISO code), never floating point.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "till/base/clock.hpp"
#include "till/pos/states.hpp"

namespace till::pos {

// One line as rung up, with its computed amounts (computed once, in the domain; lesson 13).
struct SaleLine {
  std::string product_id;
  std::string sku;
  std::string name;
  std::int64_t quantity = 1;          // whole units
  std::int64_t unit_price = 0;        // minor units, as the catalog states it (net or gross)
  std::int64_t discount = 0;          // line + allocated cart discount, minor units, >= 0
  std::string tax_code;               // e.g. "standard", "reduced"
  std::int64_t tax_rate_ppm = 0;      // parts per million: 8.875 % = 88'750
  bool tax_inclusive = false;         // unit_price already contains tax
  std::int64_t net = 0;               // after discount, before tax
  std::int64_t tax = 0;
  std::int64_t gross = 0;             // net + tax: what the customer pays for this line
  bool operator==(const SaleLine&) const = default;
};

// Totals per tax rate, as printed on the receipt.
struct TaxLine {
  std::string tax_code;
  std::int64_t tax_rate_ppm = 0;
  std::int64_t net = 0;
  std::int64_t tax = 0;
  bool operator==(const TaxLine&) const = default;
};

struct Sale {
  std::string id;              // UUIDv4, created by the register
  std::string register_id;
  std::string account_id;      // the connected account (acct_...) the sale was taken for
  std::string currency;        // lowercase ISO
  SaleState state = SaleState::Open;
  std::vector<SaleLine> lines;
  std::vector<TaxLine> taxes;
  std::int64_t subtotal = 0;   // sum of line net
  std::int64_t discount_total = 0;
  std::int64_t tax_total = 0;
  std::int64_t tip = 0;
  std::int64_t total = 0;      // subtotal + tax_total + tip
  std::string customer_contact;  // optional (email/phone), asked for offline payments
  Timestamp created_at{};
  Timestamp updated_at{};
  bool operator==(const Sale&) const = default;
};

// Card details a receipt may show. Never a PAN, track data or PIN (architecture.md).
struct CardDetails {
  std::string brand;        // visa, mastercard, amex, discover, interac, ...
  std::string last4;
  std::string exp_month_year;  // "12/28"
  std::string read_method;  // contact_emv, contactless_emv, magnetic_stripe_fallback, ...
  std::string application_id;    // EMV AID, e.g. A0000000031010
  std::string application_label; // e.g. VISA CREDIT
  std::string authorization_code;
  std::string terminal_verification_results;
  std::string cardholder_verification;  // "signature", "offline_pin", "none", ...
  bool operator==(const CardDetails&) const = default;
};

enum class TenderKind { Card, Cash };

struct PaymentAttempt {
  std::string id;               // UUIDv4
  std::string sale_id;
  int number = 1;               // 1, 2, ... per sale (retry with another card = new attempt)
  TenderKind tender = TenderKind::Card;
  AttemptState state = AttemptState::Collecting;
  std::int64_t amount = 0;      // minor units (tip included)
  std::string currency;
  std::string account_id;       // bound at creation; never changes (Connect safety)
  std::string idempotency_key;  // fixed before anything leaves the machine
  bool offline = false;         // collected store-and-forward
  std::string payment_method;   // reader token (pm_...); encrypted at rest when offline
  CardDetails card;
  std::string payment_intent_id;  // once Stripe told us
  std::string decline_code;       // Stripe's decline code, when declined
  std::string failure_message;
  Timestamp created_at{};
  Timestamp updated_at{};
  bool operator==(const PaymentAttempt&) const = default;
};

enum class OperationKind {
  CreatePaymentIntent,  // POST /v1/payment_intents (confirm=true with a reader token)
  ProcessPaymentIntent, // POST /v1/terminal/readers/{id}/process_payment_intent (smart reader)
  Capture,              // POST /v1/payment_intents/{id}/capture
  Cancel,               // POST /v1/payment_intents/{id}/cancel
  Refund,               // POST /v1/refunds
};
std::string_view to_string(OperationKind k) noexcept;
std::optional<OperationKind> parse_operation_kind(std::string_view s) noexcept;

// One keyed request waiting to reach Stripe. The exact method, path and form body are stored so
// a retry after a crash sends byte-identical parameters with the same key.
struct OutboxOperation {
  std::int64_t id = 0;
  OperationKind kind = OperationKind::CreatePaymentIntent;
  std::string sale_id;
  std::string attempt_id;
  std::string account_id;       // Stripe-Account
  std::string method = "POST";
  std::string path;             // /v1/payment_intents
  std::string body;             // application/x-www-form-urlencoded, exact bytes
  std::string idempotency_key;
  OutboxState state = OutboxState::Pending;
  int attempts = 0;
  Timestamp next_attempt_at{};
  std::optional<Timestamp> first_sent_at;  // for the key-retention (~23 h) rule
  std::string last_error;
  std::string last_request_id;
  std::string stripe_object_id;  // pi_..., re_... once known
  Timestamp created_at{};
  Timestamp updated_at{};
  bool operator==(const OutboxOperation&) const = default;
};

}  // namespace till::pos
