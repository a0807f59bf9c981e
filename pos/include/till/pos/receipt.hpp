#pragma once
// Plain-text receipts, 42 columns (a common 80 mm printer width). Every outcome gets one
// (lesson 17): approved, declined (says DECLINED and the code) and offline-stored (says OFFLINE,
// authorization pending). Card data shown is only what readers hand over: brand, last4 and EMV
// receipt fields. A full PAN never reaches Till, and render() masks anything but the last four.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "till/pos/records.hpp"

namespace till::pos {

struct Merchant {
  std::string name;
  std::vector<std::string> address_lines;
  std::string phone;
  bool operator==(const Merchant&) const = default;
};

inline constexpr int kReceiptWidth = 42;

struct ReceiptInput {
  Merchant merchant;
  Sale sale;
  // The tenders to print, in order: approved, stored-offline and cash attempts (the sale's
  // money), or, for a declined receipt, the declined attempt.
  std::vector<PaymentAttempt> tenders;
  std::int64_t cash_tendered = 0;  // what the customer handed over in cash (0: no cash)
  std::int64_t change = 0;         // cash returned
  bool operator==(const ReceiptInput&) const = default;
};

// The whole receipt, lines joined by '\n', ending with '\n'. Pure; any thread. Never fails: an
// unknown currency prints amounts with 2 decimals and the raw code.
std::string render_receipt(const ReceiptInput& input);

}  // namespace till::pos
