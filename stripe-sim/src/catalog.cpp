// The simulator's fixed tables (catalog.hpp): currencies, test cards, test amounts.

#include "catalog.hpp"

#include <map>
#include <vector>

namespace till::stripesim {

namespace {

// Currencies the simulator accepts. Zero- and three-decimal lists from stripe.md section 4.
constexpr CurrencyRule kCurrencies[] = {
    {"usd", 2, 50},   {"cad", 2, 50},   {"eur", 2, 50},  {"gbp", 2, 30},   {"aud", 2, 50},
    {"nzd", 2, 50},   {"chf", 2, 50},   {"sgd", 2, 50},  {"hkd", 2, 400},  {"dkk", 2, 250},
    {"sek", 2, 300},  {"nok", 2, 300},  {"pln", 2, 200}, {"czk", 2, 1500}, {"huf", 2, 17500},
    {"mxn", 2, 1000}, {"brl", 2, 50},   {"inr", 2, 50},  {"myr", 2, 200},  {"thb", 2, 1000},
    {"aed", 2, 200},  {"ron", 2, 200},  {"bgn", 2, 100}, {"bif", 0, 1500}, {"clp", 0, 500},
    {"djf", 0, 100},  {"gnf", 0, 5000}, {"jpy", 0, 50},  {"kmf", 0, 250},  {"krw", 0, 700},
    {"mga", 0, 2500}, {"pyg", 0, 4000}, {"rwf", 0, 700}, {"ugx", 0, 2000}, {"vnd", 0, 13000},
    {"vuv", 0, 60},   {"xaf", 0, 300},  {"xof", 0, 300}, {"xpf", 0, 60},   {"bhd", 3, 200},
    {"jod", 3, 360},  {"kwd", 3, 160},  {"omr", 3, 200}, {"tnd", 3, 1500},
};

// Test payment methods (README "Token scheme"). pm_test_<name>[_<anything>] and Stripe's
// pm_card_* aliases.
struct TestCard {
  std::string_view name;
  std::string_view alias;  // pm_card_... spelling, empty if none
  CardInfo info;
};

const std::vector<TestCard>& test_cards() {
  static const std::vector<TestCard> cards = {
      {"visa", "pm_card_visa", {"visa", "4242", "", "", false}},
      {"mastercard", "pm_card_mastercard", {"mastercard", "4444", "", "", false}},
      {"amex", "pm_card_amex", {"amex", "0005", "", "", false}},
      {"discover", "pm_card_discover", {"discover", "1117", "", "", false}},
      {"interac", "pm_card_interac", {"interac", "1933", "", "", true}},
      {"chargeDeclined",
       "pm_card_chargeDeclined",
       {"visa", "0002", "card_declined", "generic_decline", false}},
      {"insufficientFunds",
       "pm_card_chargeDeclinedInsufficientFunds",
       {"visa", "9995", "card_declined", "insufficient_funds", false}},
      {"lostCard", "pm_card_chargeDeclinedLostCard", {"visa", "9987", "card_declined", "lost_card", false}},
      {"stolenCard",
       "pm_card_chargeDeclinedStolenCard",
       {"visa", "9979", "card_declined", "stolen_card", false}},
      {"expiredCard",
       "pm_card_chargeDeclinedExpiredCard",
       {"visa", "0069", "expired_card", "expired_card", false}},
      {"processingError",
       "pm_card_chargeDeclinedProcessingError",
       {"visa", "0119", "processing_error", "processing_error", false}},
      {"offlinePin", "pm_card_offlinePin", {"visa", "0002", "", "", false}},
      {"onlinePin", "pm_card_onlinePin", {"visa", "0005", "", "", false}},
  };
  return cards;
}

}  // namespace

const CurrencyRule* find_currency(std::string_view code) {
  for (const CurrencyRule& c : kCurrencies) {
    if (c.code == code) return &c;
  }
  return nullptr;
}

// Card numbers accepted by present_payment_method (stripe.md section 7).
std::optional<CardInfo> card_for_number(std::string_view number) {
  static const std::map<std::string_view, std::string_view> kByNumber = {
      {"4242424242424242", "visa"},
      {"5555555555554444", "mastercard"},
      {"378282246310005", "amex"},
      {"6011111111111117", "discover"},
      {"4506445006931933", "interac"},
      {"4000000000000002", "chargeDeclined"},
      {"4000000000009995", "insufficientFunds"},
      {"4000000000009987", "lostCard"},
      {"4000000000009979", "stolenCard"},
      {"4000000000000069", "expiredCard"},
      {"4000000000000119", "processingError"},
      {"4001007020000002", "offlinePin"},
      {"4001000360000005", "onlinePin"},
  };
  auto it = kByNumber.find(number);
  if (it == kByNumber.end()) return std::nullopt;
  for (const TestCard& c : test_cards()) {
    if (c.name == it->second) return c.info;
  }
  return std::nullopt;
}

std::optional<CardInfo> card_for_token(std::string_view token) {
  for (const TestCard& c : test_cards()) {
    if (token == c.alias) return c.info;
  }
  // Tokens minted by till-reader-sim (hardware-sim) carry no outcome: an approving Visa,
  // subject to the test amounts like every other card.
  if (token.starts_with("pm_sim_") && token.size() > 7) return test_cards().front().info;
  if (token.starts_with("pm_test_")) {
    std::string_view name = token.substr(8);
    name = name.substr(0, name.find('_'));
    for (const TestCard& c : test_cards()) {
      if (name == c.name) return c.info;
    }
  }
  return std::nullopt;
}

std::string_view decline_message(std::string_view decline_code) {
  if (decline_code == "insufficient_funds") return "Your card has insufficient funds.";
  if (decline_code == "lost_card" || decline_code == "stolen_card") return "Your card was declined.";
  if (decline_code == "expired_card") return "Your card has expired.";
  if (decline_code == "processing_error")
    return "An error occurred while processing your card. Try again in a little bit.";
  if (decline_code == "incorrect_pin") return "The PIN entered is incorrect.";
  if (decline_code == "pin_try_exceeded") return "The allowable number of PIN tries was exceeded.";
  return "Your card was declined.";
}

// Test amounts (stripe.md section 7): the last two digits in minor units.
std::string_view amount_decline(std::int64_t amount) {
  switch (amount % 100) {
    case 1:
      return "call_issuer";
    case 5:
      return "generic_decline";
    case 55:
      return "incorrect_pin";
    case 65:
      return "withdrawal_count_limit_exceeded";
    case 75:
      return "pin_try_exceeded";
    default:
      return "";
  }
}

// "1234" in minor units as Stripe writes amounts in messages: "12.34 usd", "1234 jpy".
std::string major_units(std::int64_t minor, const CurrencyRule& rule) {
  std::string digits = std::to_string(minor);
  if (rule.exponent == 0) return digits + " " + std::string(rule.code);
  if (digits.size() <= static_cast<std::size_t>(rule.exponent)) {
    digits.insert(0, static_cast<std::size_t>(rule.exponent) + 1 - digits.size(), '0');
  }
  digits.insert(digits.size() - static_cast<std::size_t>(rule.exponent), ".");
  return digits + " " + std::string(rule.code);
}

Out<void> validate_amount(std::int64_t amount, const std::string& currency, std::string_view param) {
  const CurrencyRule* rule = find_currency(currency);
  if (!rule) return invalid("Invalid currency: " + currency + ".", "currency");
  if (amount < rule->minimum) {
    return invalid("Amount must be at least " + major_units(rule->minimum, *rule) + ".", std::string(param),
                   "amount_too_small");
  }
  if (amount > 99'999'999) {
    return invalid("Amount must be no more than " + major_units(99'999'999, *rule) + ".", std::string(param),
                   "amount_too_large");
  }
  if (rule->exponent == 3 && amount % 10 != 0) {
    return invalid("Amounts in " + currency + " must be a multiple of 10 (the last digit is 0).", std::string(param),
                   "invalid_amount");
  }
  return {};
}

}  // namespace till::stripesim
