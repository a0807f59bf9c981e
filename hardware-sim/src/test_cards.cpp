#include "till/hwsim/test_cards.hpp"

#include <array>
#include <cctype>
#include <string>

namespace till::hwsim {
namespace {

constexpr std::string_view kVisaAid = "A0000000031010";
constexpr std::string_view kMcAid = "A0000000041010";
constexpr std::string_view kAmexAid = "A000000025010801";
constexpr std::string_view kDiscoverAid = "A0000001523010";
constexpr std::string_view kInteracAid = "A0000002771010";

constexpr std::array<TestCard, 13> kCards{{
    {"visa", "4242424242424242", "visa", "", PinKind::None, kVisaAid, "VISA CREDIT"},
    {"mastercard", "5555555555554444", "mastercard", "", PinKind::None, kMcAid, "MASTERCARD"},
    {"amex", "378282246310005", "amex", "", PinKind::None, kAmexAid, "AMERICAN EXPRESS"},
    {"discover", "6011111111111117", "discover", "", PinKind::None, kDiscoverAid, "DISCOVER"},
    {"interac", "4506445006931933", "interac", "", PinKind::None, kInteracAid, "INTERAC"},
    {"declined", "4000000000000002", "visa", "card_declined", PinKind::None, kVisaAid, "VISA CREDIT"},
    {"insufficient_funds", "4000000000009995", "visa", "insufficient_funds", PinKind::None, kVisaAid, "VISA CREDIT"},
    {"lost_card", "4000000000009987", "visa", "lost_card", PinKind::None, kVisaAid, "VISA CREDIT"},
    {"stolen_card", "4000000000009979", "visa", "stolen_card", PinKind::None, kVisaAid, "VISA CREDIT"},
    {"expired_card", "4000000000000069", "visa", "expired_card", PinKind::None, kVisaAid, "VISA CREDIT"},
    {"processing_error", "4000000000000119", "visa", "processing_error", PinKind::None, kVisaAid, "VISA CREDIT"},
    {"offline_pin", "4001007020000002", "visa", "", PinKind::Offline, kVisaAid, "VISA CREDIT"},
    {"online_pin", "4001000360000005", "visa", "", PinKind::Online, kVisaAid, "VISA CREDIT"},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

std::span<const TestCard> test_cards() { return kCards; }

const TestCard* find_test_card(std::string_view key) {
  std::string digits;
  for (char c : key)
    if (c != ' ' && c != '-') digits.push_back(c);
  for (const auto& c : kCards)
    if (iequals(c.name, key) || c.number == digits) return &c;
  return nullptr;
}

std::string_view amount_decline_code(std::int64_t amount) noexcept {
  switch (amount % 100) {
    case 1: return "call_issuer";
    case 5: return "generic_decline";
    case 55: return "incorrect_pin";
    case 65: return "withdrawal_count_limit_exceeded";
    case 75: return "pin_try_exceeded";
    default: return "";
  }
}

}  // namespace till::hwsim
