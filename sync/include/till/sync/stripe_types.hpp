#pragma once
// The Stripe objects Till reads, as plain structs, parsed from JSON tolerantly: unknown fields
// are ignored, missing optional fields stay empty, and only a missing `id`/`object` mismatch or
// non-JSON is an error (Internal). Secrets in responses (client_secret) are never kept.
//
// Pure functions; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "till/base/result.hpp"

namespace till::sync {

using Metadata = std::vector<std::pair<std::string, std::string>>;  // in the order Stripe sent them

// The `error` object of an error response, or a PaymentIntent's last_payment_error.
struct StripeApiError {
  std::string type;  // api_error, card_error, idempotency_error, invalid_request_error
  std::string code;
  std::string decline_code;
  std::string message;
  std::string param;
  std::string doc_url;
  std::string request_log_url;
  std::string payment_intent_id;  // error.payment_intent.id, when Stripe attached the PI
  bool operator==(const StripeApiError&) const = default;
};

// Card-present details a receipt may show (never a PAN: Stripe does not return one).
struct CardPresentDetails {
  std::string brand;
  std::string last4;
  std::string read_method;  // contact_emv, contactless_emv, magnetic_stripe_track2, ...
  std::int64_t exp_month = 0;
  std::int64_t exp_year = 0;
  // EMV receipt fields (charge.payment_method_details.card_present.receipt), when present.
  std::string application_preferred_name;
  std::string dedicated_file_name;  // AID
  std::string authorization_code;
  std::string authorization_response_code;
  std::string application_cryptogram;
  std::string cardholder_verification_method;
  std::string terminal_verification_results;
  std::string transaction_status_information;
  std::string account_type;
  bool operator==(const CardPresentDetails&) const = default;
};

enum class PaymentIntentStatus {
  RequiresPaymentMethod,  // new, or declined (see last_payment_error)
  RequiresConfirmation,
  RequiresAction,
  Processing,
  RequiresCapture,        // authorized; capture before the hold expires
  Succeeded,
  Canceled,
  Unknown,                // a status this version of Till does not know: treat as in doubt
};
std::string_view to_string(PaymentIntentStatus s) noexcept;
PaymentIntentStatus payment_intent_status_from(std::string_view s) noexcept;

struct PaymentIntent {
  std::string id;
  PaymentIntentStatus status = PaymentIntentStatus::Unknown;
  std::string status_text;
  std::int64_t amount = 0;
  std::int64_t amount_capturable = 0;
  std::int64_t amount_received = 0;
  std::string currency;
  std::string capture_method;
  std::optional<std::int64_t> application_fee_amount;
  std::string latest_charge;     // the charge id (also when the charge was expanded)
  std::string payment_method;    // the payment method id (also when expanded)
  std::string description;
  std::string cancellation_reason;
  std::int64_t created = 0;
  bool livemode = false;
  Metadata metadata;
  std::optional<StripeApiError> last_payment_error;
  std::optional<CardPresentDetails> card_present;  // from an expanded payment_method / latest_charge

  const std::string* metadata_value(std::string_view key) const;
};

struct Refund {
  std::string id;
  std::string status;  // pending, requires_action, succeeded, failed, canceled
  std::int64_t amount = 0;
  std::string currency;
  std::string payment_intent;
  std::string charge;
  std::string reason;
  std::string failure_reason;
  std::int64_t created = 0;
  Metadata metadata;
};

struct ReaderAction {
  std::string type;    // process_payment_intent, set_reader_display, refund_payment, ...
  std::string status;  // in_progress, succeeded, failed
  std::string failure_code;
  std::string failure_message;
  std::string payment_intent;  // process_payment_intent.payment_intent / refund_payment.payment_intent
};

struct Reader {
  std::string id;
  std::string label;
  std::string device_type;
  std::string status;  // online, offline
  std::string location;
  std::string serial_number;
  std::string device_sw_version;
  std::string ip_address;
  bool livemode = false;
  std::optional<ReaderAction> action;
  Metadata metadata;
};

struct Location {
  std::string id;
  std::string display_name;
  std::string line1;
  std::string city;
  std::string state;
  std::string postal_code;
  std::string country;
  Metadata metadata;
};

struct Event {
  std::string id;
  std::string type;
  std::string account;  // set for Connect events
  std::string api_version;
  std::int64_t created = 0;
  bool livemode = false;
  std::string object_type;   // data.object.object
  std::string object_id;     // data.object.id
  std::string object_json;   // data.object re-serialized, for parse_payment_intent() etc.
};

struct Account {
  std::string id;
  std::string country;
  std::string default_currency;
  std::string business_name;
  bool charges_enabled = false;
  bool payouts_enabled = false;
  bool details_submitted = false;
};

// A list (`object: list`) or search (`object: search_result`) page.
template <class T>
struct ListPage {
  std::vector<T> data;
  bool has_more = false;
  std::string next_page;  // search pagination cursor; empty for lists
  std::string last_id() const { return data.empty() ? std::string() : data.back().id; }
};

Result<PaymentIntent> parse_payment_intent(std::string_view json);
Result<Refund> parse_refund(std::string_view json);
Result<Reader> parse_reader(std::string_view json);
Result<Location> parse_location(std::string_view json);
Result<Event> parse_event(std::string_view json);
Result<Account> parse_account(std::string_view json);

// Explicitly instantiated for PaymentIntent, Refund, Reader, Location and Event.
template <class T>
Result<ListPage<T>> parse_page(std::string_view json);

// The `error` object of an error body; nullopt when the body is not a Stripe error.
std::optional<StripeApiError> parse_error_body(std::string_view json);

}  // namespace till::sync
