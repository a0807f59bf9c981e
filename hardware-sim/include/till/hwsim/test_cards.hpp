#pragma once
// Stripe's test cards and test amounts (shared/design/stripe.md §7), as the simulated reader
// knows them. Card numbers live only inside the simulated device: the host never sees them.

#include <cstdint>
#include <span>
#include <string_view>

namespace till::hwsim {

enum class PinKind { None, Offline, Online };

struct TestCard {
  std::string_view name;          // "visa", "insufficient_funds", ... (what a tester types)
  std::string_view number;        // the test PAN; never leaves the device model
  std::string_view brand;         // visa, mastercard, amex, discover, interac
  std::string_view decline_code;  // empty: approves (unless the amount says otherwise)
  PinKind pin = PinKind::None;
  std::string_view application_id;
  std::string_view application_label;
  std::uint8_t exp_month = 12;
  std::uint16_t exp_year = 2034;
  bool interac() const noexcept { return brand == "interac"; }
  std::string_view last4() const noexcept { return number.substr(number.size() - 4); }
};

std::span<const TestCard> test_cards();
// By name (case-insensitive) or by number (spaces and dashes ignored); nullptr when unknown.
const TestCard* find_test_card(std::string_view name_or_number);

// Stripe's test amounts: the decline code an amount's last two minor digits trigger
// (.01 call_issuer, .05 generic_decline, .55 incorrect_pin, .65 withdrawal_count_limit_exceeded,
// .75 pin_try_exceeded), or empty when the amount approves.
std::string_view amount_decline_code(std::int64_t amount_minor) noexcept;

}  // namespace till::hwsim
