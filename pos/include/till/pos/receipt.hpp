#pragma once
// Plain-text receipts, 42 columns (a common 80 mm printer width). Every outcome gets one
// (lesson 17): approved, declined (says DECLINED and the code) and offline-stored (says OFFLINE,
// authorization pending). Card data shown is only what readers hand over: brand, last4 and EMV
// receipt fields. A full PAN never reaches Till, and render() masks anything but the last four.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
// Same as joining layout_receipt(input, kReceiptWidth)'s texts.
std::string render_receipt(const ReceiptInput& input);

// One printed line and how a printer that can style text should show it (pos/escpos.hpp does).
// The plain-text receipt is exactly the `text`s joined by '\n'.
struct ReceiptLine {
  std::string text;        // at most `width` columns (code points), centring spaces included, no '\n'
  bool centered = false;   // centred within the width (the text carries the padding as well)
  bool bold = false;       // merchant name, DECLINED banner, TOTAL, APPROVED / OFFLINE / DECLINED
  bool total = false;      // the TOTAL row: `left` and `right` let a printer lay it out at double width
  std::string left;        // total only: "TOTAL"
  std::string right;       // total only: "USD 14.79"
  bool operator==(const ReceiptLine&) const = default;
};

// 58 mm printers fit 32 columns of font A, 80 mm ones 42 (48 with font B).
inline constexpr int kNarrowReceiptWidth = 32;
inline constexpr int kMinReceiptWidth = 28;  // the widest amount ("USD -92233720368547758.08") fits
inline constexpr int kMaxReceiptWidth = 96;

// The receipt as styled lines `width` columns wide (clamped to [kMinReceiptWidth,
// kMaxReceiptWidth]). Item and amount rows clip their label so the amount stays aligned; other
// text that does not fit wraps (after a space or '-'), so nothing a customer or cashier must read
// (sale id, OFFLINE, DECLINED) is ever cut off. Pure; any thread; never fails.
// Every text field (merchant, register, item names, card and EMV fields, decline code) passes
// through mask_card_numbers first.
std::vector<ReceiptLine> layout_receipt(const ReceiptInput& input, int width = kReceiptWidth);

// Masks card numbers in free text: a run of digits (single spaces or '-' between groups allowed,
// as card numbers are written) that is, or contains, a Luhn-valid number of 13 to 19 digits not
// starting with 0 becomes "**** " + the run's last four digits. Card numbers never start with 0
// (ISO/IEC 7812), so EMV AIDs (A0000000031010) and TVRs stay intact; a run right after '+' is a
// phone number and is left alone. Receipt fields never hold a card number (readers hand over
// last4 only); this is the second line of defence for a driver or catalog that misbehaves.
// Pure; any thread.
std::string mask_card_numbers(std::string_view text);

}  // namespace till::pos
