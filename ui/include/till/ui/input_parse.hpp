#pragma once
// Parsing what the cashier types into amount and percent fields. Pure; any thread. Errors are
// InvalidArgument with a message the screen shows as is.

#include <cstdint>
#include <string_view>

#include "till/base/result.hpp"
#include "till/pos/cart.hpp"
#include "till/pos/money.hpp"

namespace till::ui {

// "12.34" in the currency's major units -> minor units. Empty, negative or malformed input fails.
Result<std::int64_t> parse_amount(std::string_view text, const pos::Currency& currency);
// "10", "12.5", "12.5%" -> parts per million (100'000 = 10 %). 0..100 %, at most 4 decimals.
Result<std::int64_t> parse_percent_ppm(std::string_view text);
// A discount from a field: percent or amount; empty text means no discount.
Result<pos::Discount> parse_discount(std::string_view text, bool percent, const pos::Currency& currency);
// A whole quantity 1..9999.
Result<std::int64_t> parse_quantity(std::string_view text);

}  // namespace till::ui
