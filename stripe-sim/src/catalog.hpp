#pragma once
// Internal: the fixed tables the endpoints consult (catalog.cpp): currencies with their
// exponent and minimum charge amount, Stripe's test cards and the simulator's token scheme
// (README "Token scheme"), the test amounts and the decline messages.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "state.hpp"

namespace till::stripesim {

struct CurrencyRule {
  std::string_view code;
  int exponent;
  std::int64_t minimum;  // minor units, ~0.50 USD (Stripe's published minimums where known)
};

const CurrencyRule* find_currency(std::string_view code);

// A charge amount for `currency` in minor units: a known currency, at least its minimum
// (amount_too_small), at most 8 digits (amount_too_large), and a multiple of 10 for the
// three-decimal currencies.
Out<void> validate_amount(std::int64_t amount, const std::string& currency, std::string_view param = "amount");

// pm_test_<name>[_<anything>], pm_card_* and pm_sim_* tokens; nullopt for anything else.
std::optional<CardInfo> card_for_token(std::string_view token);
// A test card number accepted by present_payment_method (stripe.md section 7).
std::optional<CardInfo> card_for_number(std::string_view number);

std::string_view decline_message(std::string_view decline_code);
// The test amounts (stripe.md section 7): the decline code for the amount's last two digits in
// minor units, empty when it approves.
std::string_view amount_decline(std::int64_t amount);

}  // namespace till::stripesim
