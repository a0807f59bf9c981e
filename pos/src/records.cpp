#include "till/pos/records.hpp"

#include <array>
#include <utility>

namespace till::pos {
namespace {
constexpr std::array<std::pair<OperationKind, std::string_view>, 5> kOpNames{{
    {OperationKind::CreatePaymentIntent, "create_payment_intent"},
    {OperationKind::ProcessPaymentIntent, "process_payment_intent"},
    {OperationKind::Capture, "capture"},
    {OperationKind::Cancel, "cancel"},
    {OperationKind::Refund, "refund"},
}};
}  // namespace

std::string_view to_string(OperationKind k) noexcept {
  for (const auto& [e, n] : kOpNames) {
    if (e == k) return n;
  }
  return "unknown";
}

std::optional<OperationKind> parse_operation_kind(std::string_view s) noexcept {
  for (const auto& [e, n] : kOpNames) {
    if (n == s) return e;
  }
  return std::nullopt;
}

}  // namespace till::pos
